# tests for the FreeSWITCH Event Socket adapter
ringside_add_test(NAME esl_reader_test SOURCES unit/esl_reader_test.cpp LIBS ringside_esl)
ringside_add_test(NAME esl_mapper_test SOURCES unit/esl_mapper_test.cpp LIBS ringside_esl)
ringside_add_test(NAME esl_client_test SOURCES unit/esl_client_test.cpp LIBS ringside_esl)
# FreeSWITCH call flows (transfers, mod_callcenter queues, ring groups) through the call service.
ringside_add_test(NAME esl_flows_test SOURCES unit/esl_flows_test.cpp LIBS ringside_esl ringside_storage)
