# tests for the SIP adapter
ringside_add_test(NAME sip_parser_test SOURCES unit/sip_parser_test.cpp LIBS ringside_sip)
ringside_add_test(NAME sip_modes_test SOURCES unit/sip_modes_test.cpp LIBS ringside_sip)
# SIP UAS call flows (forks, answered elsewhere, 302 forwards) through the call service.
ringside_add_test(NAME sip_flows_test SOURCES unit/sip_flows_test.cpp LIBS ringside_sip ringside_storage)
