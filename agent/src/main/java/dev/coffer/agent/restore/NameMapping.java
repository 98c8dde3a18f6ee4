package dev.coffer.agent.restore;

import java.util.Set;

/**
 * One name that a restore could not write as it was and wrote under another name instead, with
 * every reason that applied. {@code original} is the NTFS name component (or {@code name:stream}
 * for an alternate data stream); {@code mapped} is the component written at the target.
 */
public record NameMapping(String original, String mapped, Set<Reason> reasons) {
    /** Copies the reason set so the record stays immutable. */
    public NameMapping {
        reasons = Set.copyOf(reasons);
    }

    /** Why a name was changed. */
    public enum Reason {
        /** The name was empty. */
        EMPTY,
        /** The name was {@code .} or {@code ..}. */
        DOT_NAME,
        /** The name held a path separator ({@code /} or {@code \}). */
        SEPARATOR,
        /** The name held a NUL character. */
        NUL,
        /** The name held another control character (U+0001..U+001F, U+007F). */
        CONTROL,
        /** The name held a character Windows forbids in names ({@code < > : " | ? *}). */
        RESERVED_CHARACTER,
        /** The name held an unpaired UTF-16 surrogate, which has no UTF-8 form. */
        INVALID_UNICODE,
        /** The name was a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, ...). */
        RESERVED_DEVICE,
        /** The name ended with dots or spaces, which Windows strips. */
        TRAILING_DOT_SPACE,
        /** The name was longer than 255 bytes of UTF-8; shortened with a hash suffix. */
        TOO_LONG,
        /** The name is used by the restore itself (its work directory). */
        RESERVED_NAME,
        /** The name collided with another restored name (differing only by case on a case-insensitive target, or mapping to the same safe name). */
        COLLISION,
        /** An alternate data stream, written as a separate file beside its file. */
        ALTERNATE_STREAM
    }
}
