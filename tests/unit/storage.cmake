# Storage and the small core utilities it leans on.
ringside_add_test(NAME sqlite_store_test SOURCES unit/sqlite_store_test.cpp LIBS ringside_storage sqlite3)
ringside_add_test(NAME phone_test SOURCES unit/phone_test.cpp LIBS ringside_core)
ringside_add_test(NAME privacy_test SOURCES unit/privacy_test.cpp LIBS ringside_core)
# What a store keeps, as the core's rules (masking, disposition carry-over, initial scores).
ringside_add_test(NAME stored_records_test SOURCES unit/stored_records_test.cpp LIBS ringside_core)
ringside_add_test(NAME password_test SOURCES unit/password_test.cpp LIBS ringside_core)
ringside_add_test(NAME time_test SOURCES unit/time_test.cpp LIBS ringside_core)
ringside_add_test(NAME write_behind_test SOURCES unit/write_behind_test.cpp LIBS ringside_storage)
ringside_add_test(NAME call_log_test SOURCES unit/call_log_test.cpp LIBS ringside_storage sqlite3)
ringside_add_test(NAME sqlite_admin_test SOURCES unit/sqlite_admin_test.cpp LIBS ringside_storage)
# Backup, restore checks and the copy before a migration; builds old files with
# the private migrations (src/storage).
ringside_add_test(NAME sqlite_backup_test SOURCES unit/sqlite_backup_test.cpp LIBS ringside_storage SQLiteCpp sqlite3)
target_include_directories(sqlite_backup_test PRIVATE ${PROJECT_SOURCE_DIR}/src/storage)
# A customer's data on request (export, erase), retention, directory users (issue 16).
ringside_add_test(NAME privacy_store_test SOURCES unit/privacy_store_test.cpp LIBS ringside_storage SQLiteCpp)
# The user directory in memory for the engine's strand.
ringside_add_test(NAME user_directory_cache_test SOURCES unit/user_directory_cache_test.cpp LIBS ringside_storage)
# The SQLite store's query builders as pure functions (src/storage/sqlite).
ringside_add_test(NAME sqlite_query_builders_test SOURCES unit/sqlite_query_builders_test.cpp LIBS ringside_storage)
target_include_directories(sqlite_query_builders_test PRIVATE ${PROJECT_SOURCE_DIR}/src/storage)
