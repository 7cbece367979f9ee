# HTTP/WebSocket server: hub and routing pieces without sockets.
ringside_add_test(NAME server_pop_hub_test SOURCES unit/server_pop_hub_test.cpp LIBS ringside_server_base)
ringside_add_test(NAME server_http_test SOURCES unit/server_http_test.cpp LIBS ringside_server_base)
# The real server on loopback with a real SQLite file and real Beast clients.
ringside_add_test(NAME server_integration_test SOURCES unit/server_integration_test.cpp
  LIBS ringside_server ringside_storage LABELS integration)
# The supervisors' wallboard: agents' states, figures, the local day.
ringside_add_test(NAME wallboard_test SOURCES unit/wallboard_test.cpp LIBS ringside_server ringside_storage)
