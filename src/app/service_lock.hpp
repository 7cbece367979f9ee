#pragma once
// The service lock: `ringside serve` (and the demo) hold an exclusive flock(2)
// on `<database>.lock` for as long as they run, so `ringside restore` can
// tell that a service has the database open and refuse, and a second service
// on the same file refuses to start. The kernel drops the lock when the
// process ends, however it ends, so a crash never leaves a stale lock; the
// file itself stays (it holds the last holder's pid, for the message).
#include <filesystem>
#include <string>

namespace ringside::app {

class ServiceLock {
public:
    /// Takes the lock for `database` without waiting; creates the
    /// database's directory if needed. Throws std::runtime_error naming the
    /// holder's pid and the lock file when another process holds it.
    /// `who` says what wants it, for that message ("restore").
    ServiceLock(const std::filesystem::path& database, const std::string& who);
    ~ServiceLock();
    ServiceLock(const ServiceLock&) = delete;
    ServiceLock& operator=(const ServiceLock&) = delete;

    static std::filesystem::path path_for(const std::filesystem::path& database);

private:
    int fd_ = -1;
};

}  // namespace ringside::app
