# tests for this area: ringside_add_test(NAME ... SOURCES ... LIBS ...)
