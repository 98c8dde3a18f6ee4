package dev.coffer.catalog;

import java.util.List;

/** One page of a sorted listing: the items, the offset of the first, and the total count of the listing. */
public record Page<T>(List<T> items, int offset, long total) {}
