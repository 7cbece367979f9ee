ringside_add_test(NAME config_test SOURCES unit/config_test.cpp LIBS ringside_config)
ringside_add_test(NAME csv_test SOURCES unit/csv_test.cpp LIBS ringside_core)
