# Storage and the small core utilities it leans on.
ringside_add_test(NAME sqlite_store_test SOURCES unit/sqlite_store_test.cpp LIBS ringside_storage sqlite3)
