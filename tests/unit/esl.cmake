# tests for the FreeSWITCH Event Socket adapter
ringside_add_test(NAME esl_reader_test SOURCES unit/esl_reader_test.cpp LIBS ringside_esl)
ringside_add_test(NAME esl_mapper_test SOURCES unit/esl_mapper_test.cpp LIBS ringside_esl)
ringside_add_test(NAME esl_client_test SOURCES unit/esl_client_test.cpp LIBS ringside_esl)
