ringside_add_test(NAME config_test SOURCES unit/config_test.cpp LIBS ringside_config)
ringside_add_test(NAME csv_test SOURCES unit/csv_test.cpp LIBS ringside_core)
ringside_add_test(NAME connections_test SOURCES unit/connections_test.cpp LIBS ringside_connections ringside_webhook ringside_storage)
# [auth.ldap]: filter and DN escaping of what users type, without a directory.
ringside_add_test(NAME ldap_text_test SOURCES unit/ldap_text_test.cpp LIBS ringside_ldap_text)
