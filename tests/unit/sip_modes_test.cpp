// The two SIP modes driven directly (no sockets): the UAS that takes forked
// INVITEs, the dialog-event watcher, caller identity, and what the call
// tracker makes of their events.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "fixture_file.hpp"
#include "ringside/core/call_tracker.hpp"
#include "ringside/sip/dialog_info.hpp"
#include "ringside/sip/grammar.hpp"
#include "ringside/sip/identity.hpp"
#include "ringside/sip/parser.hpp"
#include "ringside/sip/uas.hpp"
#include "ringside/sip/watcher.hpp"

using namespace ringside;
using namespace ringside::sip;
using namespace std::chrono_literals;

namespace {

Message parse(const std::string& bytes) {
    auto item = parse_datagram(bytes);
    if (auto* r = std::get_if<Rejected>(&item)) FAIL(r->describe());
    return std::get<Message>(item);
}

std::string invite(const std::string& extra = "", const std::string& ruri = "sip:1001@10.0.0.9",
                   const std::string& branch = "z9hG4bK-fork1") {
    return "INVITE " + ruri + " SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" + branch + "\r\n"
           "Max-Forwards: 70\r\n"
           "From: \"Sara\" <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
           "To: <sip:1001@10.0.0.1>\r\n"
           "Call-ID: call-abc@10.0.0.1\r\n"
           "CSeq: 101 INVITE\r\n"
           "Contact: <sip:09121234567@10.0.0.1>\r\n" + extra +
           "Content-Length: 0\r\n\r\n";
}

std::string cancel(const std::string& extra = "") {
    return "CANCEL sip:1001@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-fork1\r\n"
           "Max-Forwards: 70\r\n"
           "From: \"Sara\" <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
           "To: <sip:1001@10.0.0.1>\r\n"
           "Call-ID: call-abc@10.0.0.1\r\n"
           "CSeq: 101 CANCEL\r\n" + extra +
           "Content-Length: 0\r\n\r\n";
}

std::string ack(const std::string& to_tag) {
    return "ACK sip:1001@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-fork1\r\n"
           "Max-Forwards: 70\r\n"
           "From: \"Sara\" <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
           "To: <sip:1001@10.0.0.1>;tag=" + to_tag + "\r\n"
           "Call-ID: call-abc@10.0.0.1\r\n"
           "CSeq: 101 ACK\r\n"
           "Content-Length: 0\r\n\r\n";
}

std::string bye(const std::string& to_tag) {
    return "BYE sip:1001@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-bye1\r\n"
           "Max-Forwards: 70\r\n"
           "From: \"Sara\" <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
           "To: <sip:1001@10.0.0.1>;tag=" + to_tag + "\r\n"
           "Call-ID: call-abc@10.0.0.1\r\n"
           "CSeq: 102 BYE\r\n"
           "Content-Length: 0\r\n\r\n";
}

struct Harness {
    Uas uas{PbxId{"pbx"}, UasConfig{.max_ring = 60s, .linger = 32s, .seed = 7}};
    CallTracker tracker;
    std::vector<Effect> effects;
    std::chrono::steady_clock::time_point now{};

    UasOutput feed(const std::string& bytes) {
        auto out = uas.on_item(parse_datagram(bytes), 1, "10.0.0.9:5060", "UDP", now, Timestamp{});
        for (const auto& ev : out.events)
            for (auto& e : tracker.on_event(ev)) effects.push_back(std::move(e));
        return out;
    }
};

int status_of(const std::string& response) { return parse(response).status; }

std::string to_tag(const std::string& response) {
    return parse_name_addr(parse(response).get("to"))->param("tag").value_or("");
}

template <class T>
std::vector<T> of(const std::vector<Effect>& effects) {
    std::vector<T> v;
    for (const auto& e : effects)
        if (auto* x = std::get_if<T>(&e)) v.push_back(*x);
    return v;
}

/// The one end of the call among the effects (REQUIRE: exactly one).
effect::Ended the_end(const std::vector<Effect>& effects) {
    auto ends = of<effect::Ended>(effects);
    REQUIRE(ends.size() == 1);
    return ends[0];
}

}  // namespace

TEST_CASE("a forked INVITE gets 100 and 180, never 200, and rings the Request-URI's extension with the caller") {
    Harness h;
    auto out = h.feed(invite());
    REQUIRE(out.replies.size() == 2);
    CHECK(status_of(out.replies[0].bytes) == 100);
    CHECK(status_of(out.replies[1].bytes) == 180);
    CHECK(!to_tag(out.replies[1].bytes).empty());
    CHECK(parse(out.replies[1].bytes).get("contact") == "<sip:1001@10.0.0.9:5060>");
    auto rings = of<effect::Ringing>(h.effects);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].ext.value() == "1001");
    CHECK(rings[0].call.caller_num == "09121234567");
    CHECK(rings[0].call.caller_name == "Sara");
    CHECK(rings[0].call.id.value() == "pbx-call-abc_10.0.0.1");
    CHECK(!rings[0].call.caller_device);  // an external caller: an inbound call
}

TEST_CASE("CANCEL gets 200, the INVITE 487, the ACK closes it, and the call ends missed with the pop retracted") {
    Harness h;
    auto tag = to_tag(h.feed(invite()).replies[1].bytes);
    auto out = h.feed(cancel());
    REQUIRE(out.replies.size() == 2);
    CHECK(status_of(out.replies[0].bytes) == 200);
    CHECK(parse(out.replies[0].bytes).get("cseq") == "101 CANCEL");
    CHECK(status_of(out.replies[1].bytes) == 487);
    CHECK(parse(out.replies[1].bytes).get("cseq") == "101 INVITE");
    CHECK(to_tag(out.replies[1].bytes) == tag);
    auto stops = of<effect::StoppedRinging>(h.effects);
    REQUIRE(stops.size() == 1);
    CHECK(stops[0].reason == StopReason::caller_hung_up);
    CHECK(the_end(h.effects).outcome == CallStatus::missed);
    CHECK(h.uas.transactions() == 1);
    CHECK(h.feed(ack(tag)).replies.empty());
    CHECK(h.uas.transactions() == 0);
}

TEST_CASE("a 487 not acknowledged over UDP is sent again, then given up") {
    Harness h;
    h.feed(invite());
    h.feed(cancel());
    h.now += 600ms;
    auto again = h.uas.tick(h.now, Timestamp{});
    REQUIRE(again.replies.size() == 1);
    CHECK(status_of(again.replies[0].bytes) == 487);
    h.now += 40s;
    h.uas.tick(h.now, Timestamp{});
    CHECK(h.uas.transactions() == 0);
}

TEST_CASE("CANCEL with Reason cause=200 (completed elsewhere) is the agent's own phone answering") {
    Harness h;
    h.feed(invite());
    h.feed(cancel("Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"\r\n"));
    auto answers = of<effect::Answered>(h.effects);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].ext.value() == "1001");
    CHECK(the_end(h.effects).outcome == CallStatus::answered);
}

TEST_CASE("BYE on the early dialog gets 200 and the INVITE 487; an unknown BYE gets 481") {
    Harness h;
    auto tag = to_tag(h.feed(invite()).replies[1].bytes);
    auto out = h.feed(bye(tag));
    REQUIRE(out.replies.size() == 2);
    CHECK(status_of(out.replies[0].bytes) == 200);
    CHECK(status_of(out.replies[1].bytes) == 487);
    CHECK(of<effect::Ended>(h.effects).size() == 1);
    auto unknown = h.feed(bye("nosuchtag"));
    REQUIRE(unknown.replies.size() == 1);
    CHECK(status_of(unknown.replies[0].bytes) == 481);
}

TEST_CASE("a retransmitted INVITE gets the 180 again and rings nothing new") {
    Harness h;
    auto first = h.feed(invite());
    auto again = h.feed(invite());
    REQUIRE(again.replies.size() == 1);
    CHECK(again.replies[0].bytes == first.replies[1].bytes);
    CHECK(of<effect::Ringing>(h.effects).size() == 1);
}

TEST_CASE("two forks of one Call-ID to two extensions ring both in one call") {
    Harness h;
    h.feed(invite());
    h.feed(invite("", "sip:1002@10.0.0.9", "z9hG4bK-fork2"));
    auto rings = of<effect::Ringing>(h.effects);
    REQUIRE(rings.size() == 2);
    CHECK(rings[0].call.id == rings[1].call.id);
}

TEST_CASE("a fork ringing past max_ring gets 480 and ends unanswered") {
    Harness h;
    h.feed(invite());
    h.now += 61s;
    auto out = h.uas.tick(h.now, Timestamp{});
    REQUIRE(out.replies.size() == 1);
    CHECK(status_of(out.replies[0].bytes) == 480);
    CHECK(out.events.size() >= 2);
}

TEST_CASE("OPTIONS gets 200; other methods 405; a malformed request 400 naming the fault") {
    Harness h;
    auto opt = h.feed("OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKo\r\n"
                      "From: <sip:pbx@10.0.0.1>;tag=1\r\nTo: <sip:1001@10.0.0.9>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n"
                      "Content-Length: 0\r\n\r\n");
    CHECK(status_of(opt.replies.at(0).bytes) == 200);
    auto msg = h.feed("MESSAGE sip:1001@10.0.0.9 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKm\r\n"
                      "From: <sip:pbx@10.0.0.1>;tag=1\r\nTo: <sip:1001@10.0.0.9>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
                      "Content-Length: 0\r\n\r\n");
    CHECK(status_of(msg.replies.at(0).bytes) == 405);
    auto bad = h.feed("OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb\r\n"
                      "From: <sip:pbx@10.0.0.1>;tag=1\r\nTo: <sip:1001@10.0.0.9>\r\nCall-ID: b1\r\nCSeq: 1 INVITE\r\n"
                      "Content-Length: 0\r\n\r\n");
    auto r = parse(bad.replies.at(0).bytes);
    CHECK(r.status == 400);
    CHECK(std::string(r.get("warning")).find("does not match") != std::string::npos);
}

TEST_CASE("caller identity: P-Asserted-Identity (tel: preferred), then Remote-Party-ID, then From") {
    auto pai = parse(invite("P-Asserted-Identity: \"Ali\" <sip:+989121111111@pbx>, <tel:+989122222222>\r\n"));
    auto id = caller_identity(pai);
    CHECK(id.number == "+989122222222");
    CHECK(id.name == "Ali");
    auto rpid = parse(invite("Remote-Party-ID: \"Reza\" <sip:09123333333@pbx>;party=calling;screen=yes\r\n"));
    CHECK(caller_identity(rpid).number == "09123333333");
    CHECK(caller_identity(rpid).name == "Reza");
    auto from = parse(invite());
    CHECK(caller_identity(from).number == "09121234567");
}

TEST_CASE("Privacy: id, RPID privacy=full and an anonymous From make the caller anonymous") {
    auto priv = parse(invite("Privacy: id\r\nP-Asserted-Identity: <sip:+989121111111@pbx>\r\n"));
    auto id = caller_identity(priv);
    CHECK(id.anonymous);
    CHECK(id.number.empty());
    CHECK(id.name.empty());
    auto rpid = parse(invite("Remote-Party-ID: <sip:0912@pbx>;party=calling;privacy=full\r\n"));
    CHECK(caller_identity(rpid).anonymous);
    auto anon = parse("INVITE sip:1001@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
                      "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1\r\nTo: <sip:1001@h>\r\n"
                      "Call-ID: a\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    CHECK(caller_identity(anon).anonymous);
    Harness h;
    h.feed(invite("Privacy: id\r\n"));
    auto rings = of<effect::Ringing>(h.effects);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].call.caller_num.empty());
}

TEST_CASE("diversion: the number first dialled, from Diversion or History-Info") {
    auto div = parse(invite("Diversion: <sip:1005@pbx>;reason=no-answer;counter=1\r\n"
                            "Diversion: <sip:02188888888@pbx>;reason=unconditional\r\n"));
    CHECK(diversion(div).original_called == "02188888888");
    CHECK(diversion(div).reason == "no-answer");
    auto hi = parse(invite("History-Info: <sip:02177777777@pbx>;index=1, <sip:1001@pbx?Reason=SIP%3Bcause%3D302>;index=1.1\r\n"));
    CHECK(diversion(hi).original_called == "02177777777");
    CHECK(diversion(parse(invite())).original_called.empty());
    Harness h;
    h.feed(invite("Diversion: <sip:02188888888@pbx>;reason=unconditional\r\n"));
    CHECK(of<effect::Ringing>(h.effects).at(0).call.dialed == "02188888888");
}

TEST_CASE("the extension comes from the To user when the Request-URI has none") {
    auto m = parse("INVITE sip:10.0.0.9 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
                   "From: <sip:0912@h>;tag=1\r\nTo: <sip:1007@h>\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    CHECK(called_user(m) == "1007");
}

// ---------------------------------------------------------------- dialog-info

TEST_CASE("the RFC 4235 examples read into dialogs with state, direction and remote identity") {
    auto dir = std::filesystem::path(RINGSIDE_FIXTURES_DIR) / "sip" / "dialog-info";
    std::string err;
    auto both = parse_dialog_info(fixture_file::read_path(dir / "rfc4235_example_confirmed_plus_early.xml"), &err);
    REQUIRE_MESSAGE(both, err);
    CHECK(both->full);
    CHECK(both->version == 3);
    REQUIRE(both->dialogs.size() == 2);
    CHECK(both->dialogs[0].state == "confirmed");
    CHECK(both->dialogs[0].direction == "initiator");
    CHECK(both->dialogs[1].state == "early");
    CHECK(both->dialogs[1].call_id == "ASDRRVASDRF");
    auto remote = parse_dialog_info(fixture_file::read_path(dir / "rfc4235_example_early_local_remote.xml"), &err);
    REQUIRE_MESSAGE(remote, err);
    CHECK(remote->dialogs.at(0).remote_uri == "sip:bob@example.org");
    CHECK(remote->dialogs.at(0).remote_display == "Bob");
    auto init = parse_dialog_info(fixture_file::read_path(dir / "rfc4235_example_early_initiator.xml"), &err);
    REQUIRE_MESSAGE(init, err);
}

TEST_CASE("dialog-info: a terminated state keeps its event and code; bad documents are refused with a reason") {
    std::string err;
    auto t = parse_dialog_info(
        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"0\" state=\"partial\" entity=\"sip:a@b\">"
        "<dialog id=\"x\"><state event=\"rejected\" code=\"486\">terminated</state></dialog></dialog-info>",
        &err);
    REQUIRE_MESSAGE(t, err);
    CHECK(t->dialogs[0].event == "rejected");
    CHECK(t->dialogs[0].code == 486);
    CHECK(!parse_dialog_info("<dialog-info version=\"1\" state=\"full\"><dialog id=\"x\">", &err));
    CHECK(err.find("not well-formed") != std::string::npos);
    CHECK(!parse_dialog_info("<!DOCTYPE d [<!ENTITY a \"aaaa\">]><dialog-info version=\"1\" state=\"full\"/>", &err));
    CHECK(err.find("DOCTYPE") != std::string::npos);
    CHECK(!parse_dialog_info("<presence/>", &err));
    CHECK(!parse_dialog_info("<dialog-info version=\"1\" state=\"full\"><dialog id=\"x\"/></dialog-info>", &err));
    CHECK(err.find("no state") != std::string::npos);
    std::string many = "<dialog-info version=\"1\" state=\"full\">";
    for (int i = 0; i < 100; ++i) many += "<dialog id=\"d" + std::to_string(i) + "\"><state>early</state></dialog>";
    CHECK(!parse_dialog_info(many + "</dialog-info>", &err));
    CHECK(err.find("more than 64") != std::string::npos);
}

// ---------------------------------------------------------------- watcher

namespace {

struct WatchHarness {
    Watcher w{PbxId{"pbx"}, WatcherConfig{.extensions = {"1001"}, .server = "127.0.0.1:5070", .domain = "",
                                          .local = "127.0.0.1:5080", .transport = "UDP", .expires = 600s,
                                          .retry_after = 30s, .seed = 3}};
    CallTracker tracker;
    std::vector<Effect> effects;
    std::chrono::steady_clock::time_point now{};
    std::uint64_t version = 0;

    /// Starts watching and answers the SUBSCRIBE 200; returns the SUBSCRIBE.
    std::string subscribed() {
        auto sub = w.start(now).requests.at(0);
        feed(ok(sub));
        return sub;
    }
    WatcherOutput feed(const std::string& bytes) {
        auto out = w.on_item(parse_datagram(bytes), 9, now, Timestamp{});
        for (const auto& ev : out.events)
            for (auto& e : tracker.on_event(ev)) effects.push_back(std::move(e));
        return out;
    }
    std::string ok(const std::string& subscribe, int code = 200, const std::string& extra = "Expires: 600\r\n") {
        auto m = parse(subscribe);
        return "SIP/2.0 " + std::to_string(code) + " X\r\nVia: " + std::string(m.get("via")) + "\r\nFrom: " +
               std::string(m.get("from")) + "\r\nTo: " + std::string(m.get("to")) + ";tag=srv\r\nCall-ID: " +
               std::string(m.get("call-id")) + "\r\nCSeq: " + std::string(m.get("cseq")) + "\r\n" + extra +
               "Content-Length: 0\r\n\r\n";
    }
    std::string notify(const std::string& subscribe, const std::string& dialogs, const std::string& state = "active;expires=600",
                       const std::string& doc_state = "partial") {
        auto m = parse(subscribe);
        std::string body = "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"" +
                           std::to_string(version++) + "\" state=\"" + doc_state + "\" entity=\"sip:1001@127.0.0.1\">" +
                           dialogs + "</dialog-info>";
        return "NOTIFY sip:ringside@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKn" +
               std::to_string(version) + "\r\nFrom: " + std::string(m.get("to")) + ";tag=srv\r\nTo: " +
               std::string(m.get("from")) + "\r\nCall-ID: " + std::string(m.get("call-id")) + "\r\nCSeq: " +
               std::to_string(version) + " NOTIFY\r\nEvent: dialog\r\nSubscription-State: " + state +
               "\r\nContent-Type: application/dialog-info+xml\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    }
};

std::string dialog(const std::string& state, const std::string& extra_state_attrs = "") {
    return "<dialog id=\"d1\" call-id=\"pbx-leg-1\" direction=\"recipient\"><state" + extra_state_attrs + ">" + state +
           "</state><remote><identity display=\"Sara\">sip:09121234567@pbx</identity></remote></dialog>";
}

}  // namespace

TEST_CASE("the watcher subscribes to each extension's dialog state and refreshes before expiry") {
    WatchHarness h;
    auto out = h.w.start(h.now);
    REQUIRE(out.requests.size() == 1);
    auto sub = parse(out.requests[0]);
    CHECK(sub.method == "SUBSCRIBE");
    CHECK(sub.uri == "sip:1001@127.0.0.1");
    CHECK(sub.get("event") == "dialog");
    CHECK(sub.get("accept") == "application/dialog-info+xml");
    CHECK(sub.get("expires") == "600");
    // No answer yet: retransmitted over UDP.
    h.now += 600ms;
    CHECK(h.w.tick(h.now, Timestamp{}).requests.size() == 1);
    h.feed(h.ok(out.requests[0], 200, "Expires: 120\r\n"));
    CHECK(h.w.active_subscriptions() == 1);
    // Granted 120 s: refreshed at 90 s, in the same dialog (To tag kept).
    h.now += 89s;
    CHECK(h.w.tick(h.now, Timestamp{}).requests.empty());
    h.now += 2s;
    auto refresh = h.w.tick(h.now, Timestamp{});
    REQUIRE(refresh.requests.size() == 1);
    auto r = parse(refresh.requests[0]);
    CHECK(r.get("call-id") == sub.get("call-id"));
    CHECK(std::string(r.get("to")).find("tag=srv") != std::string::npos);
    CHECK(r.get("cseq") == "2 SUBSCRIBE");
}

TEST_CASE("NOTIFYs early, confirmed, terminated ring, answer and end the agent's call with the remote identity") {
    WatchHarness h;
    auto sub = h.subscribed();
    auto out = h.feed(h.notify(sub, dialog("early")));
    REQUIRE(out.replies.size() == 1);
    CHECK(status_of(out.replies[0].bytes) == 200);
    auto rings = of<effect::Ringing>(h.effects);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].ext.value() == "1001");
    CHECK(rings[0].call.caller_num == "09121234567");
    CHECK(rings[0].call.caller_name == "Sara");
    h.feed(h.notify(sub, dialog("confirmed")));
    REQUIRE(of<effect::Answered>(h.effects).size() == 1);
    h.feed(h.notify(sub, dialog("terminated", " event=\"remote-bye\"")));
    CHECK(the_end(h.effects).outcome == CallStatus::answered);
}

TEST_CASE("a dialog that a full NOTIFY no longer lists has ended; initiator dialogs pop nothing") {
    WatchHarness h;
    auto sub = h.subscribed();
    h.feed(h.notify(sub, dialog("early") +
                             "<dialog id=\"d2\" call-id=\"out-1\" direction=\"initiator\"><state>early</state></dialog>"));
    CHECK(of<effect::Ringing>(h.effects).size() == 1);
    h.feed(h.notify(sub, "", "active;expires=600", "full"));
    CHECK(the_end(h.effects).outcome == CallStatus::missed);
}

TEST_CASE("a rejected dialog ends busy; an older NOTIFY version is ignored") {
    WatchHarness h;
    auto sub = h.subscribed();
    h.feed(h.notify(sub, dialog("early")));
    h.version = 0;  // stale
    h.feed(h.notify(sub, dialog("terminated")));
    CHECK(of<effect::Ended>(h.effects).empty());
    h.version = 10;
    h.feed(h.notify(sub, dialog("terminated", " event=\"rejected\" code=\"486\"")));
    CHECK(the_end(h.effects).outcome == CallStatus::busy);
}

TEST_CASE("Subscription-State terminated starts a new subscription; 423 asks again with Min-Expires; 401 warns once") {
    WatchHarness h;
    auto sub = h.subscribed();
    h.feed(h.notify(sub, "", "terminated;reason=deactivated"));
    CHECK(h.w.active_subscriptions() == 0);
    h.now += 2s;
    auto again = h.w.tick(h.now, Timestamp{});
    REQUIRE(again.requests.size() == 1);
    CHECK(parse(again.requests[0]).get("call-id") != parse(sub).get("call-id"));
    auto brief = h.feed(h.ok(again.requests[0], 423, "Min-Expires: 1800\r\n"));
    REQUIRE(brief.requests.size() == 1);
    CHECK(parse(brief.requests[0]).get("expires") == "1800");
    auto auth = h.feed(h.ok(brief.requests[0], 401, ""));
    REQUIRE(auth.warnings.size() == 1);
    CHECK(auth.warnings[0].find("authenticate") != std::string::npos);
}

TEST_CASE("a NOTIFY for no subscription gets 481") {
    WatchHarness h;
    h.w.start(h.now);
    std::string bogus = "SUBSCRIBE sip:1001@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\r\nFrom: <sip:r@x>;tag=zz\r\n"
                        "To: <sip:1001@x>\r\nCall-ID: nope\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n";
    auto out = h.feed(h.notify(bogus, dialog("early")));
    CHECK(status_of(out.replies.at(0).bytes) == 481);
    CHECK(h.effects.empty());
}

// ---------------------------------------------------------------- hang-up side (issue 4)

namespace {

std::optional<HangupBy> side_of(const std::vector<Effect>& effects) {
    auto ends = of<effect::Ended>(effects);
    REQUIRE(ends.size() == 1);
    return ends[0].hangup_by;
}

}  // namespace

TEST_CASE("hang-up side in mode uas: the caller's CANCEL or early BYE is the caller, max ring the system") {
    {
        Harness h;
        h.feed(invite());
        h.feed(cancel());
        CHECK(side_of(h.effects) == HangupBy::caller);
    }
    {
        Harness h;
        h.feed(bye(to_tag(h.feed(invite()).replies[1].bytes)));
        CHECK(side_of(h.effects) == HangupBy::caller);
    }
    {
        Harness h;
        h.feed(invite());
        h.now += 61s;
        for (const auto& ev : h.uas.tick(h.now, Timestamp{}).events)
            for (auto& e : h.tracker.on_event(ev)) h.effects.push_back(std::move(e));
        CHECK(side_of(h.effects) == HangupBy::system);
    }
    {
        // Two forks of one call: the first CANCEL leaves the call ringing on
        // the other; the caller ends it with the last.
        Harness h;
        h.feed(invite());
        h.feed(invite("", "sip:1002@10.0.0.9", "z9hG4bK-fork2"));
        h.feed(cancel());
        CHECK(of<effect::Ended>(h.effects).empty());
    }
}

TEST_CASE("hang-up side in mode uas: an answer elsewhere ends our branch without telling who hung up") {
    Harness h;
    h.feed(invite());
    h.feed(cancel("Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"\r\n"));
    CHECK(side_of(h.effects) == std::nullopt);
}

TEST_CASE("hang-up side in mode watch: local-bye is the watched agent's phone, remote-bye the caller") {
    struct Case {
        std::string event;
        HangupBy want;
        std::string ext;
    };
    for (const auto& c : {Case{"local-bye", HangupBy::agent, "1001"}, Case{"remote-bye", HangupBy::caller, ""}}) {
        CAPTURE(c.event);
        WatchHarness h;
        auto sub = h.subscribed();
        h.feed(h.notify(sub, dialog("early")));
        h.feed(h.notify(sub, dialog("confirmed")));
        h.feed(h.notify(sub, dialog("terminated", " event=\"" + c.event + "\"")));
        const auto end = the_end(h.effects);
        CHECK(end.hangup_by == c.want);
        CHECK(end.hangup_ext.value_or(Extension("")).value() == c.ext);
    }
}

TEST_CASE("every anonymous SIP caller reaches the tracker withheld, with only its masked text as the number") {
    struct Row {
        std::string name;
        std::string headers;  // replaces the From line, plus any extra headers
        std::string number;   // what goes on as the caller's number
    };
    const std::vector<Row> rows = {
        {"Privacy: id with an asserted real number", "From: \"Sara\" <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
                                                     "Privacy: id\r\nP-Asserted-Identity: <sip:+989121111111@pbx>\r\n", ""},
        {"Privacy: id with an anonymous From", "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=caller1\r\n"
                                               "Privacy: id\r\n", "anonymous"},
        {"RPID privacy=full", "From: <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
                              "Remote-Party-ID: <sip:0912@pbx>;party=calling;privacy=full\r\n", ""},
        {"anonymous@anonymous.invalid", "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=caller1\r\n",
         "anonymous"},
        {"a masked From user", "From: <sip:+31260xxxxxx@carrier.example>;tag=caller1\r\n", "+31260xxxxxx"},
        {"a Restricted From user", "From: \"Restricted\" <sip:Restricted@carrier.example>;tag=caller1\r\n",
         "Restricted"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        std::string bytes = invite();
        const auto from_at = bytes.find("From: ");
        bytes.erase(from_at, bytes.find("\r\n", from_at) + 2 - from_at);
        bytes.insert(from_at, row.headers);
        auto id = caller_identity(parse(bytes));
        CHECK(id.anonymous);
        CHECK(id.number == row.number);
        CHECK(id.name.empty());
        Harness h;
        h.feed(bytes);
        auto rings = of<effect::Ringing>(h.effects);
        REQUIRE(rings.size() == 1);
        CHECK(rings[0].call.caller_withheld);
        CHECK(rings[0].call.caller_num == row.number);
        CHECK(rings[0].call.caller_name.empty());
    }
    Harness shown;
    shown.feed(invite());
    CHECK(!of<effect::Ringing>(shown.effects).at(0).call.caller_withheld);
}

TEST_CASE("a watched dialog whose remote identity is anonymous rings withheld") {
    WatchHarness h;
    auto sub = h.subscribed();
    h.feed(h.notify(sub, "<dialog id=\"d1\" call-id=\"pbx-leg-1\" direction=\"recipient\"><state>early</state>"
                         "<remote><identity display=\"Anonymous\">sip:anonymous@anonymous.invalid</identity></remote>"
                         "</dialog>"));
    auto rings = of<effect::Ringing>(h.effects);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].call.caller_withheld);
    CHECK(rings[0].call.caller_num == "anonymous");
    CHECK(rings[0].call.caller_name.empty());
}

TEST_CASE("Replaces (RFC 3891) and Referred-By (RFC 3892) of a transferee's INVITE are read; a Replaces without both tags is not") {
    auto with = [](const std::string& headers) {
        std::string bytes = invite();
        bytes.insert(bytes.find("Content-Length"), headers);
        return parse(bytes);
    };
    // RFC 3891 section 6.1's header, in the compact Referred-By form ("b").
    auto m = with("Replaces: 425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only\r\n"
                  "b: <sip:1001@pbx.example.com>;cid=\"20398823.2UWQFN309shb3@referrer.example\"\r\n");
    auto r = replaces(m);
    REQUIRE(r);
    CHECK(r->call_id == "425928@bobster.example.org");
    CHECK(r->to_tag == "7743");
    CHECK(r->from_tag == "6472");
    CHECK(r->early_only);
    CHECK(referred_by(m) == "1001");
    CHECK(!replaces(with("Replaces: 425928@bobster.example.org;to-tag=7743\r\n")));
    CHECK(!replaces(with("Replaces: ;to-tag=1;from-tag=2\r\n")));
    CHECK(!replaces(parse(invite())));
    CHECK(referred_by(parse(invite())).empty());
}

TEST_CASE("dialog-info: a dialog's <replaces> and <referred-by> (RFC 4235) are read") {
    const std::string xml =
        "<?xml version=\"1.0\"?><dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"3\" "
        "state=\"partial\" entity=\"sip:1002@pbx\"><dialog id=\"b2\" call-id=\"flow-3\" direction=\"recipient\">"
        "<state>early</state><replaces call-id=\"flow-2\" local-tag=\"bobphone7\" remote-tag=\"alice2\"/>"
        "<referred-by display=\"Alice\"> sip:1001@pbx </referred-by>"
        "<remote><identity>sip:09121234567@pbx</identity></remote></dialog></dialog-info>";
    auto info = parse_dialog_info(xml);
    REQUIRE(info);
    REQUIRE(info->dialogs.size() == 1);
    CHECK(info->dialogs[0].replaces_call_id == "flow-2");
    CHECK(info->dialogs[0].referred_by == "sip:1001@pbx");
    CHECK(info->dialogs[0].remote_uri == "sip:09121234567@pbx");
}
