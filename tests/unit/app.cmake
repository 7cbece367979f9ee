ringside_add_test(NAME config_test SOURCES unit/config_test.cpp LIBS ringside_config)
