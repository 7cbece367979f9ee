// ringside: one binary, the commands of docs/interface.md "Command line".
// Exit 0 on success; otherwise a one-line reason on stderr and non-zero.
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app.hpp"

namespace {

constexpr const char* usage = R"(usage:
  ringside demo [--listen ADDR] [--data DIR]
  ringside serve --config FILE
  ringside check-config FILE
  ringside user add --username U --role agent|supervisor|admin [--extension EXT] [--name NAME] --password-stdin --config FILE
  ringside import customers FILE.csv [--dry-run] --config FILE
  ringside import orders FILE.csv [--dry-run] --config FILE
  ringside backup --config FILE [--force] OUT.db
  ringside restore --config FILE [--dry-run] IN.db
  ringside retention --config FILE [--dry-run]
  ringside migrate --from FILE.db --to postgresql://...
  ringside version
)";

/// Parses "--key value" and "--flag" options after the positional words.
struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;

    std::optional<std::string> get(const std::string& k) const {
        auto it = options.find(k);
        if (it == options.end()) return std::nullopt;
        return it->second;
    }
    bool flag(const std::string& k) const { return options.count(k) > 0; }
};

Args parse(int argc, char** argv, int from, const std::vector<std::string>& flags) {
    Args a;
    for (int i = from; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) == 0) {
            auto eq = s.find('=');
            if (eq != std::string::npos) {
                a.options[s.substr(2, eq - 2)] = s.substr(eq + 1);
                continue;
            }
            std::string key = s.substr(2);
            bool is_flag = false;
            for (const auto& f : flags) is_flag = is_flag || f == key;
            if (is_flag) {
                a.options[key] = "";
            } else if (i + 1 < argc) {
                a.options[key] = argv[++i];
            } else {
                throw ringside::app::UsageError("option --" + key + " needs a value");
            }
        } else {
            a.positional.push_back(std::move(s));
        }
    }
    return a;
}

void allow_only(const Args& a, std::initializer_list<const char*> keys) {
    for (const auto& [k, v] : a.options) {
        bool ok = false;
        for (auto allowed : keys) ok = ok || k == allowed;
        if (!ok) throw ringside::app::UsageError("unknown option --" + k);
    }
}

std::string require(const Args& a, const std::string& key) {
    auto v = a.get(key);
    if (!v || v->empty()) throw ringside::app::UsageError("missing --" + key);
    return *v;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringside::app;
    if (argc < 2) {
        std::cerr << usage;
        return 2;
    }
    std::string cmd = argv[1];
    try {
        if (cmd == "demo") {
            auto a = parse(argc, argv, 2, {});
            allow_only(a, {"listen", "data"});
            DemoOptions o;
            if (auto l = a.get("listen")) o.listen = *l;
            if (auto d = a.get("data")) o.data_dir = *d;
            return run_demo(o);
        }
        if (cmd == "serve") {
            auto a = parse(argc, argv, 2, {});
            allow_only(a, {"config"});
            return run_serve(require(a, "config"));
        }
        if (cmd == "check-config") {
            auto a = parse(argc, argv, 2, {});
            allow_only(a, {});
            if (a.positional.size() != 1) throw UsageError("check-config takes one FILE");
            return run_check_config(a.positional[0]);
        }
        if (cmd == "user") {
            auto a = parse(argc, argv, 2, {"password-stdin"});
            allow_only(a, {"username", "role", "extension", "name", "password-stdin", "config"});
            if (a.positional.size() != 1 || a.positional[0] != "add") throw UsageError("usage: ringside user add ...");
            if (!a.flag("password-stdin")) throw UsageError("missing --password-stdin (passwords are never taken on the command line)");
            UserAddOptions o;
            o.username = require(a, "username");
            o.role = require(a, "role");
            o.extension = a.get("extension").value_or("");
            o.name = a.get("name").value_or("");
            o.config = require(a, "config");
            return run_user_add(o, std::cin);
        }
        if (cmd == "import") {
            auto a = parse(argc, argv, 2, {"dry-run"});
            allow_only(a, {"config", "dry-run"});
            if (a.positional.size() != 2 || (a.positional[0] != "customers" && a.positional[0] != "orders"))
                throw UsageError("usage: ringside import customers|orders FILE.csv [--dry-run] --config FILE");
            if (a.positional[0] == "orders")
                return run_import_orders(a.positional[1], require(a, "config"), a.flag("dry-run"));
            return run_import_customers(a.positional[1], require(a, "config"), a.flag("dry-run"));
        }
        if (cmd == "backup") {
            auto a = parse(argc, argv, 2, {"force"});
            allow_only(a, {"config", "force"});
            if (a.positional.size() != 1) throw UsageError("usage: ringside backup --config FILE [--force] OUT.db");
            return run_backup(require(a, "config"), a.positional[0], a.flag("force"));
        }
        if (cmd == "restore") {
            auto a = parse(argc, argv, 2, {"dry-run"});
            allow_only(a, {"config", "dry-run"});
            if (a.positional.size() != 1) throw UsageError("usage: ringside restore --config FILE [--dry-run] IN.db");
            return run_restore(require(a, "config"), a.positional[0], a.flag("dry-run"));
        }
        if (cmd == "retention") {
            auto a = parse(argc, argv, 2, {"dry-run"});
            allow_only(a, {"config", "dry-run"});
            if (!a.positional.empty()) throw UsageError("usage: ringside retention --config FILE [--dry-run]");
            return run_retention(require(a, "config"), a.flag("dry-run"));
        }
        if (cmd == "migrate") {
            auto a = parse(argc, argv, 2, {});
            allow_only(a, {"from", "to"});
            if (!a.positional.empty()) throw UsageError("usage: ringside migrate --from FILE.db --to postgresql://...");
            return run_migrate(require(a, "from"), require(a, "to"));
        }
        if (cmd == "version" || cmd == "--version") {
            std::cout << "ringside " << RINGSIDE_VERSION << "\n";
            return 0;
        }
        if (cmd == "help" || cmd == "--help" || cmd == "-h") {
            std::cout << usage;
            return 0;
        }
        throw UsageError("unknown command \"" + cmd + "\"");
    } catch (const UsageError& e) {
        std::cerr << "ringside: " << e.what() << "\n" << usage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "ringside: " << e.what() << "\n";
        return 1;
    }
}
