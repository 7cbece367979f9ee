# tests for this area: ringside_add_test(NAME ... SOURCES ... LIBS ...)
ringside_add_test(NAME ami_reader_test SOURCES unit/ami_reader_test.cpp LIBS ringside_ami)
ringside_add_test(NAME ami_mapper_test SOURCES unit/ami_mapper_test.cpp LIBS ringside_ami)
ringside_add_test(NAME ami_client_test SOURCES unit/ami_client_test.cpp LIBS ringside_ami)
ringside_add_test(NAME ami_connection_test SOURCES unit/ami_connection_test.cpp
  LIBS ringside_ami_io ringside_asio_impl LABELS integration)
