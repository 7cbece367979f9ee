#include "service_lock.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace ringside::app {

std::filesystem::path ServiceLock::path_for(const std::filesystem::path& database) {
    auto p = database;
    p += ".lock";
    return p;
}

ServiceLock::ServiceLock(const std::filesystem::path& database, const std::string& who) {
    const auto file = path_for(database);
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    // flock needs no write access: a lock file another user made still locks (without our pid in it).
    if (fd_ < 0 && errno == EACCES) fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        throw std::runtime_error("cannot open the lock file " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char buf[32] = {};
        ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
            throw std::runtime_error(
                "database " + database.string() + " is in use by a running ringside serve" +
                (pid.empty() ? "" : " (pid " + pid + ")") + ", which holds " + file.string() + "; " +
                (who == "serve" ? "only one service may run on a database"
                                : "stop it first (systemctl stop ringside), then run " + who + " again"));
        throw std::runtime_error("cannot lock " + file.string() + ": " + std::strerror(err));
    }
    if (who == "serve") {
        const std::string me = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
    }
}

ServiceLock::~ServiceLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace ringside::app
