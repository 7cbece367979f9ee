#include "ringside/sip/dialog_info.hpp"

#include <charconv>
#include <cstring>

#include <expat.h>

namespace ringside::sip {

namespace {

std::string_view local_name(const char* name) {
    std::string_view n(name);
    auto colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

const char* attr(const char** atts, std::string_view name) {
    for (int i = 0; atts[i]; i += 2)
        if (local_name(atts[i]) == name) return atts[i + 1];
    return nullptr;
}

struct Builder {
    XML_Parser parser = nullptr;
    DialogInfoLimits limits;
    DialogInfo info;
    std::vector<std::string> path;  // local names of open elements
    std::string text;               // character data of the current element
    bool saw_root = false;
    std::string error;

    void stop(std::string why) {
        if (error.empty()) error = std::move(why);
        XML_StopParser(parser, XML_FALSE);
    }


    // Expat may still report the end of an element after XML_StopParser(),
    // so every start pushes and every end pops, whatever start decided.
    void start(const char* name, const char** atts) {
        if (error.empty()) open(name, atts);
        path.emplace_back(local_name(name));
        text.clear();
    }

    void open(const char* name, const char** atts) {
        auto n = local_name(name);
        if (path.size() >= 16) return stop("nested deeper than 16 elements");
        if (path.empty()) {
            if (n != "dialog-info") return stop("the root element is not dialog-info");
            saw_root = true;
            if (const char* v = attr(atts, "version")) {
                std::string_view s(v);
                if (std::from_chars(s.data(), s.data() + s.size(), info.version).ec != std::errc{})
                    return stop("version is not a number");
            } else {
                return stop("dialog-info has no version");
            }
            const char* st = attr(atts, "state");
            if (!st || (std::strcmp(st, "full") != 0 && std::strcmp(st, "partial") != 0))
                return stop("dialog-info state is neither full nor partial");
            info.full = std::strcmp(st, "full") == 0;
            if (const char* e = attr(atts, "entity")) info.entity = e;
        } else if (n == "dialog" && path.size() == 1) {
            if (info.dialogs.size() >= limits.max_dialogs)
                return stop("more than " + std::to_string(limits.max_dialogs) + " dialogs");
            const char* id = attr(atts, "id");
            if (!id || !*id) return stop("a dialog has no id");
            DialogState d;
            d.id = id;
            if (const char* c = attr(atts, "call-id")) d.call_id = c;
            if (const char* dir = attr(atts, "direction")) d.direction = dir;
            info.dialogs.push_back(std::move(d));
        } else if (n == "state" && path.size() == 2 && path[1] == "dialog") {
            auto& d = info.dialogs.back();
            if (const char* e = attr(atts, "event")) d.event = e;
            if (const char* c = attr(atts, "code")) {
                std::string_view s(c);
                std::from_chars(s.data(), s.data() + s.size(), d.code);
            }
        } else if (n == "replaces" && path.size() == 2 && path[1] == "dialog") {
            if (const char* c = attr(atts, "call-id")) info.dialogs.back().replaces_call_id = c;
        } else if (n == "identity" && path.size() == 3 && path[1] == "dialog" && path[2] == "remote") {
            if (const char* disp = attr(atts, "display")) info.dialogs.back().remote_display = disp;
        } else if (n == "target" && path.size() == 3 && path[1] == "dialog" && path[2] == "remote") {
            auto& d = info.dialogs.back();
            if (const char* uri = attr(atts, "uri"); uri && d.remote_uri.empty()) d.remote_uri = uri;
        }
    }

    void end() {
        auto trimmed = [](std::string s) {
            auto b = s.find_first_not_of(" \t\r\n");
            if (b == std::string::npos) return std::string();
            auto e = s.find_last_not_of(" \t\r\n");
            return s.substr(b, e - b + 1);
        };
        if (path.empty()) return;
        if (!error.empty()) {
            path.pop_back();
            return;
        }
        if (path.size() == 3 && path[1] == "dialog" && path[2] == "state") {
            info.dialogs.back().state = trimmed(text);
        } else if (path.size() == 3 && path[1] == "dialog" && path[2] == "referred-by") {
            info.dialogs.back().referred_by = trimmed(text);
        } else if (path.size() == 4 && path[1] == "dialog" && path[2] == "remote" && path[3] == "identity") {
            info.dialogs.back().remote_uri = trimmed(text);  // identity wins over target
        }
        path.pop_back();
        text.clear();
    }
};

}  // namespace

std::optional<DialogInfo> parse_dialog_info(std::string_view xml, std::string* error, const DialogInfoLimits& limits) {
    auto fail = [&](std::string why) -> std::optional<DialogInfo> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (xml.size() > limits.max_bytes) return fail("the document is larger than " + std::to_string(limits.max_bytes) + " bytes");
    Builder b;
    b.limits = limits;
    XML_Parser p = XML_ParserCreate(nullptr);
    if (!p) return fail("out of memory");
    b.parser = p;
    XML_SetUserData(p, &b);
    XML_SetElementHandler(
        p, [](void* u, const char* n, const char** a) { static_cast<Builder*>(u)->start(n, a); },
        [](void* u, const char*) { static_cast<Builder*>(u)->end(); });
    XML_SetCharacterDataHandler(p, [](void* u, const char* s, int len) {
        auto* bb = static_cast<Builder*>(u);
        if (bb->text.size() + static_cast<std::size_t>(len) > 4096) return bb->stop("an element's text is longer than 4096 bytes");
        bb->text.append(s, static_cast<std::size_t>(len));
    });
    XML_SetStartDoctypeDeclHandler(p, [](void* u, const char*, const char*, const char*, int) {
        static_cast<Builder*>(u)->stop("a DOCTYPE is not allowed");
    });
    auto status = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
    std::string why;
    if (!b.error.empty()) why = b.error;
    else if (status != XML_STATUS_OK)
        why = std::string("not well-formed XML: ") + XML_ErrorString(XML_GetErrorCode(p)) + " at line " +
              std::to_string(XML_GetCurrentLineNumber(p));
    XML_ParserFree(p);
    if (!why.empty()) return fail(why);
    if (!b.saw_root) return fail("no dialog-info element");
    for (const auto& d : b.info.dialogs)
        if (d.state.empty()) return fail("dialog " + d.id + " has no state");
    return std::move(b.info);
}

}  // namespace ringside::sip
