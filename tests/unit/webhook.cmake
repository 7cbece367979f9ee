# tests for the webhook adapter (sans-I/O: signature, replay, parser, mapper)
ringside_add_test(NAME webhook_test SOURCES unit/webhook_test.cpp LIBS ringside_webhook)
