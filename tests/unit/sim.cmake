# tests for this area: ringside_add_test(NAME ... SOURCES ... LIBS ...)
ringside_add_test(NAME sim_call_script_test
  SOURCES unit/sim_call_script_test.cpp
  LIBS ringside_sim)
ringside_add_test(NAME sim_server_session_test
  SOURCES unit/sim_server_session_test.cpp
  LIBS ringside_sim)
ringside_add_test(NAME sim_server_test
  SOURCES unit/sim_server_test.cpp
  LIBS ringside_sim
  LABELS integration)
