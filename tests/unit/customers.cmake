# The customer file: core rules and their SQLite storage.
ringside_add_test(NAME customers_test SOURCES unit/customers_test.cpp LIBS ringside_core)
ringside_add_test(NAME customer_store_test SOURCES unit/customer_store_test.cpp LIBS ringside_storage sqlite3)
