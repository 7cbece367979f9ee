# The call engine: tracker (sans-I/O state machine) and service (records and pops).
ringside_add_test(NAME call_tracker_test SOURCES unit/call_tracker_test.cpp LIBS ringside_core)
ringside_add_test(NAME call_service_test SOURCES unit/call_service_test.cpp LIBS ringside_core ringside_storage)
ringside_add_test(NAME call_fixtures_test SOURCES unit/call_fixtures_test.cpp unit/call_lookup_test.cpp LIBS ringside_ami ringside_storage)
ringside_add_test(NAME call_flows_test SOURCES unit/call_flows_test.cpp LIBS ringside_sim ringside_ami ringside_storage)
ringside_add_test(NAME call_pickup_forward_test SOURCES unit/call_pickup_forward_test.cpp LIBS ringside_sim ringside_ami ringside_storage)
ringside_add_test(NAME dial_test SOURCES unit/dial_test.cpp LIBS ringside_sim ringside_ami ringside_esl ringside_storage)
ringside_add_test(NAME call_transfer_sim_test SOURCES unit/call_transfer_sim_test.cpp LIBS ringside_sim ringside_ami ringside_storage)
# Agent states (ready, not ready with a reason, wrap-up) as pure rules.
ringside_add_test(NAME agent_state_test SOURCES unit/agent_state_test.cpp LIBS ringside_core)
