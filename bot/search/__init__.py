"""The query language, the tantivy index, and ranking."""
