package dev.coffer.ntfs;

/**
 * One entry of a directory index ($I30): the file reference ({@code mftRecordNumber} +
 * {@code sequenceNumber}) and the $FILE_NAME key stored with it.
 */
public record DirectoryEntry(long mftRecordNumber, int sequenceNumber, FileName fileName) {
    /** The entry's name. */
    public String name() {
        return fileName.name();
    }

    /** True when the index says the entry is a directory. */
    public boolean directory() {
        return fileName.directory();
    }
}
