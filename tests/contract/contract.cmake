# The storage contract suite (tests/contract): the same cases against each
# backend, one executable per backend. The PostgreSQL half starts its own
# server (initdb, pg_ctl) and exits 77, skipped, where PostgreSQL is absent.
ringside_add_test(NAME store_contract_sqlite_test SOURCES contract/store_contract_test.cpp
  LIBS ringside_storage LABELS unit)
target_compile_definitions(store_contract_sqlite_test PRIVATE RINGSIDE_CONTRACT_PG=0)
find_package(PostgreSQL REQUIRED)
ringside_add_test(NAME store_contract_postgres_test SOURCES contract/store_contract_test.cpp
  LIBS ringside_storage PostgreSQL::PostgreSQL LABELS integration)
target_compile_definitions(store_contract_postgres_test PRIVATE RINGSIDE_CONTRACT_PG=1)
set_tests_properties(store_contract_postgres_test PROPERTIES SKIP_RETURN_CODE 77)
