#include "ringside/storage/demo_seed.hpp"

#include <array>
#include <string_view>

#include "ringside/core/password.hpp"

namespace ringside {
namespace {

using namespace std::chrono_literals;

struct DemoCustomer {
    std::string_view salutation;
    std::string_view name;
    std::string_view language;
    std::string_view tier;
    std::string_view tags;       // comma separated
    std::string_view company;
    std::string_view email;
    std::string_view phone;      // Iranian national form
    std::string_view phone2;     // "" if none
};

// Sara Ahmadi's number and issue are the ones the browser tests expect (known_call).
constexpr std::array<DemoCustomer, 40> customers{{
    {"Ms.", "Sara Ahmadi", "en", "gold", "vip", "Parsian Trading", "sara.ahmadi@example.com", "09121234567", ""},
    {"آقای", "علی رضایی", "fa", "silver", "", "", "ali.rezaei@example.ir", "09122345678", ""},
    {"خانم", "مریم حسینی", "fa", "gold", "vip,وفادار", "پخش البرز", "maryam.hosseini@example.ir", "09123456789",
     "09351234567"},
    {"Mr.", "John Carter", "en", "bronze", "new", "", "john.carter@example.com", "09124567890", ""},
    {"آقای", "محمد کریمی", "fa", "bronze", "", "", "", "09125678901", ""},
    {"Ms.", "Emily Clarke", "en", "silver", "reseller", "Clarke & Sons", "emily@clarkeandsons.example", "09126789012",
     ""},
    {"خانم", "زهرا موسوی", "fa", "gold", "vip", "", "zahra.mousavi@example.ir", "09127890123", ""},
    {"آقای", "حسین جعفری", "fa", "silver", "wholesale", "بازرگانی جعفری", "", "09128901234", "09129012345"},
    {"Dr.", "Reza Tehrani", "en", "gold", "vip,clinic", "Tehrani Dental", "office@tehranidental.example",
     "09131234567", ""},
    {"خانم", "فاطمه نوری", "fa", "bronze", "", "", "", "09132345678", ""},
    {"Mr.", "David Miller", "en", "silver", "", "Miller Logistics", "d.miller@example.com", "09133456789", ""},
    {"آقای", "امیر صادقی", "fa", "bronze", "late-payer", "", "amir.sadeghi@example.ir", "09134567890", ""},
    {"خانم", "نرگس احمدی", "fa", "silver", "", "", "narges@example.ir", "09135678901", ""},
    {"Ms.", "Laura Bennett", "en", "gold", "vip,reseller", "Bennett Imports", "laura@bennett.example", "09136789012",
     ""},
    {"آقای", "مهدی قاسمی", "fa", "bronze", "new", "", "", "09191234567", ""},
    {"خانم", "لیلا رحیمی", "fa", "gold", "وفادار", "", "leila.rahimi@example.ir", "09192345678", "09013456789"},
    {"Mr.", "Thomas Wright", "en", "bronze", "", "", "tom.wright@example.com", "09193456789", ""},
    {"آقای", "سعید نجفی", "fa", "silver", "wholesale", "نجفی و شرکا", "saeed@najafi.example", "09194567890", ""},
    {"خانم", "شیوا کاظمی", "fa", "bronze", "", "", "", "09195678901", ""},
    {"Ms.", "Hannah Scott", "en", "silver", "", "", "hannah.scott@example.com", "09196789012", ""},
    {"آقای", "جواد یوسفی", "fa", "gold", "vip", "صنایع یوسفی", "javad@yousefi.example", "09351112233", ""},
    {"خانم", "سمیرا باقری", "fa", "silver", "", "", "samira.bagheri@example.ir", "09352223344", ""},
    {"Mr.", "Daniel Evans", "en", "bronze", "new", "", "", "09353334455", ""},
    {"آقای", "کامران شریفی", "fa", "bronze", "late-payer", "", "", "09354445566", ""},
    {"خانم", "پریسا عباسی", "fa", "gold", "vip", "", "parisa.abbasi@example.ir", "09355556677", ""},
    {"Ms.", "Olivia Turner", "en", "silver", "reseller", "Turner Retail", "olivia@turner.example", "09356667788",
     "02188776655"},
    {"آقای", "بهرام زمانی", "fa", "silver", "", "", "", "09357778899", ""},
    {"خانم", "الهام فرهادی", "fa", "bronze", "", "", "elham.farhadi@example.ir", "09358889900", ""},
    {"Mr.", "Peter Hughes", "en", "gold", "vip", "Hughes Engineering", "p.hughes@example.com", "09359990011", ""},
    {"آقای", "رضا محمدی", "fa", "bronze", "", "", "", "09011234567", ""},
    {"خانم", "طاهره سلیمانی", "fa", "silver", "وفادار", "", "", "09012345678", ""},
    {"Ms.", "Grace Walker", "en", "bronze", "", "", "grace.walker@example.com", "09014567890", ""},
    {"آقای", "نیما اکبری", "fa", "gold", "vip,wholesale", "اکبری تجارت", "nima@akbari.example", "09015678901", ""},
    {"خانم", "مینا حیدری", "fa", "bronze", "new", "", "", "09016789012", ""},
    {"Mr.", "James Cooper", "en", "silver", "", "Cooper Travel", "james@coopertravel.example", "09017890123", ""},
    {"آقای", "فرهاد مرادی", "fa", "silver", "", "", "farhad.moradi@example.ir", "09018901234", ""},
    {"خانم", "آزاده کرمانی", "fa", "gold", "vip", "", "azadeh.kermani@example.ir", "09211234567", ""},
    {"Ms.", "Sophie Reed", "en", "bronze", "", "", "sophie.reed@example.com", "09212345678", ""},
    {"آقای", "پیمان اصفهانی", "fa", "bronze", "", "", "", "09213456789", ""},
    {"خانم", "رویا تبریزی", "fa", "silver", "reseller", "فروشگاه رویا", "roya@tabrizi.example", "09214567890", ""},
}};

struct DemoIssue {
    std::size_t customer;  // index in customers
    std::string_view title;
    std::string_view description;
    std::chrono::hours age;
    bool resolved;
};

constexpr std::array<DemoIssue, 12> issues{{
    {0, "Refund not received", "Order 58213 returned on the 3rd; refund promised within 5 working days.", 72h,
     false},
    {2, "بازپرداخت انجام نشده", "سفارش ۴۱۷۷ مرجوع شده ولی مبلغ هنوز برنگشته است.", 30h, false},
    {2, "Invoice address wrong", "Company name misspelled on the last two invoices.", 240h, true},
    {6, "Delivery delayed", "Parcel stuck at the Karaj depot since Saturday.", 5h, false},
    {8, "Warranty claim for scaler", "Ultrasonic scaler stopped working after 3 months.", 200h, false},
    {11, "Payment plan requested", "Asked to split the overdue balance into three payments.", 50h, false},
    {13, "Damaged goods", "Two cartons arrived crushed; photos sent by email.", 26h, false},
    {15, "بازپرداخت انجام نشده", "مبلغ کارت به کارت شده به حساب اشتباه رفته است.", 100h, false},
    {20, "Bulk discount review", "Wants the wholesale tier applied from next month.", 400h, true},
    {24, "Login to portal fails", "Password reset email never arrives.", 2h, false},
    {28, "Refund not received", "Cancelled service contract; pro-rata refund pending.", 150h, false},
    {32, "ارسال فاکتور رسمی", "فاکتور رسمی با کد اقتصادی درخواست شده است.", 20h, false},
}};

struct DemoContact {
    std::string_view channel;    // call | email
    std::string_view direction;  // inbound | outbound
    std::string_view status;     // for calls: answered | missed
    std::string_view disposition;
    std::string_view summary;
};

constexpr std::array<DemoContact, 8> contacts{{
    {"call", "inbound", "answered", "info-given", "Asked about order status; tracking number given."},
    {"email", "outbound", "", "", "Sent the updated price list."},
    {"call", "inbound", "missed", "", "Missed call, no voicemail."},
    {"call", "outbound", "answered", "callback-done", "Called back about the open ticket; customer satisfied."},
    {"call", "inbound", "answered", "escalated", "Complained about a late refund; escalated to billing."},
    {"email", "inbound", "", "", "Customer sent photos of the damaged delivery."},
    {"call", "inbound", "answered", "resolved", "تماس درباره‌ی فاکتور؛ توضیحات لازم داده شد."},
    {"call", "outbound", "answered", "follow-up", "Confirmed delivery address for the next shipment."},
}};

constexpr std::array<std::string_view, 3> agents{"alice", "bob", "sara"};
constexpr std::array<std::string_view, 3> extensions{"1001", "1002", "1003"};

std::string international(std::string_view national) {
    // "0912..." -> "+98912...": stored right whatever the normaliser's region.
    return "+98" + std::string(national.substr(1));
}

std::vector<std::string> split_tags(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto comma = s.find(',');
        out.emplace_back(s.substr(0, comma));
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

std::string persian_digits(std::string_view ascii) {
    static constexpr std::array<std::string_view, 10> fa{"۰", "۱", "۲", "۳", "۴", "۵", "۶", "۷", "۸", "۹"};
    std::string out;
    for (char c : ascii) {
        if (c >= '0' && c <= '9')
            out += fa[static_cast<std::size_t>(c - '0')];
        else
            out.push_back(c);
    }
    return out;
}

void seed_users(Storage& store) {
    for (const auto& login : demo_logins()) {
        if (store.find_user(AgentId{login.username})) continue;
        User u;
        u.username = AgentId{login.username};
        u.role = login.role;
        if (login.extension) u.extension = Extension{*login.extension};
        if (login.username == "admin") u.name = "Demo Admin";
        else if (login.username == "supervisor") u.name = "Maryam Karimi";
        else if (login.username == "alice") u.name = "Alice Martin";
        else if (login.username == "bob") u.name = "Bob Jansen";
        else if (login.username == "sara") u.name = "سارا رضایی";
        try {
            store.create_user(u, hash_password(login.password));
        } catch (const StorageConflict&) {
            // Created meanwhile by another process seeding the same file.
        }
    }
}

}  // namespace

const std::vector<DemoLogin>& demo_logins() {
    static const std::vector<DemoLogin> logins{
        {"admin", "admin-demo", Role::admin, std::nullopt},
        {"supervisor", "supervisor-demo", Role::supervisor, std::nullopt},
        {"alice", "agent-demo", Role::agent, "1001"},
        {"bob", "agent-demo", Role::agent, "1002"},
        {"sara", "agent-demo", Role::agent, "1003"},
    };
    return logins;
}

void seed_demo(Storage& store, const PhoneNormalizer& phones) {
    seed_users(store);
    if (store.customer_count() > 0) return;

    const Timestamp now = now_ms();
    std::vector<std::int64_t> ids;
    ids.reserve(customers.size());
    for (std::size_t k = 0; k < customers.size(); ++k) {
        const auto& d = customers[k];
        Customer c;
        c.salutation = d.salutation;
        c.name = d.name;
        c.language = d.language;
        c.tier = d.tier;
        c.tags = split_tags(d.tags);
        c.company = d.company;
        c.email = d.email;
        for (auto raw : {d.phone, d.phone2})
            if (!raw.empty())
                if (auto p = phones.normalize(international(raw))) c.phones.push_back(p->e164());
        c.created_at = now - std::chrono::hours(24 * (400 - 9 * static_cast<int>(k)));
        // The customer file's evaluation: gold accounts carry a score their
        // supervisor set by hand; the others' is computed from their history
        // (contacts, issues, lifetime value), so the demo shows both.
        if (d.tier == "gold") c.value_score = 9 - static_cast<int>(k % 2);
        c.lifetime_value = 1000 * static_cast<std::int64_t>((k * 37) % 50 + 1);
        ids.push_back(store.create_customer(c));
    }

    for (const auto& d : issues) {
        Issue i;
        i.customer_id = ids[d.customer];
        i.title = d.title;
        i.description = d.description;
        i.opened_at = now - d.age;
        const auto id = store.create_issue(i);
        if (d.resolved) store.set_issue_status(id, "resolved", i.opened_at + d.age / 2);
    }

    // History: customer k gets k % 5 contacts over the last five weeks; calls
    // are also logged as call records so the call list is not empty.
    int call_no = 0;
    for (std::size_t k = 0; k < customers.size(); ++k) {
        const std::size_t n = k % 5;
        for (std::size_t j = 0; j < n; ++j) {
            const auto& t = contacts[(k + j * 3) % contacts.size()];
            const std::size_t a = (k + j) % agents.size();
            const auto at = now - std::chrono::hours(6 + 37 * static_cast<int>(j) + 5 * static_cast<int>(k % 7)) -
                            std::chrono::minutes(13 * static_cast<int>(k));
            Interaction h;
            h.customer_id = ids[k];
            h.at = at;
            h.channel = t.channel;
            h.direction = t.direction;
            h.summary = t.summary;
            h.status = t.status;
            h.disposition = t.disposition;
            const bool answered = t.status == "answered";
            if (t.channel == "email" || answered) h.agent = AgentId{std::string(agents[a])};
            if (t.channel != "call") {
                store.add_interaction(h);
                continue;
            }
            CallRecord c;
            c.id = CallId{"demo-seed." + std::to_string(++call_no)};
            c.pbx = PbxId{"demo"};
            c.direction = t.direction == "outbound" ? Direction::outbound : Direction::inbound;
            const auto number = international(customers[k].phone);
            c.from = t.direction == "outbound" ? std::string(extensions[a]) : number;
            c.from_raw = t.direction == "outbound" ? std::string(extensions[a]) : std::string(customers[k].phone);
            c.to = t.direction == "outbound" ? number : std::string(extensions[a]);
            c.customer_id = ids[k];
            c.started_at = at;
            c.rang = {AgentId{std::string(agents[a])}};
            if (answered) {
                c.status = CallStatus::answered;
                c.agent = AgentId{std::string(agents[a])};
                c.extension = Extension{std::string(extensions[a])};
                c.wait_seconds = 4 + static_cast<std::int64_t>(k % 9);
                c.talk_seconds = 45 + static_cast<std::int64_t>((k * 37 + j * 11) % 400);
                c.answered_at = at + std::chrono::seconds(c.wait_seconds);
                c.ended_at = *c.answered_at + std::chrono::seconds(c.talk_seconds);
                c.disposition = t.disposition;
            } else {
                c.status = CallStatus::missed;
                c.wait_seconds = 25;
                c.ended_at = at + 25s;
            }
            h.call_id = c.id;
            store.finish_call(c, h);
        }
    }
    // Scores computed while the seed went in compared lifetime values with
    // quartiles from before it: recount them against the seeded ones.
    store.recount_value_scores();
}

std::vector<std::string> demo_caller_numbers() {
    std::vector<std::string> out;
    for (std::size_t k = 0; k < customers.size(); ++k) {
        // Some customers call from their second number; the demo dials from mobiles only.
        const auto& c = customers[k];
        std::string_view n = k % 2 == 1 && c.phone2.substr(0, 2) == "09" ? c.phone2 : c.phone;
        const std::string d(n);
        switch (k % 6) {
            case 0: out.push_back(d); break;                                   // 09121234567
            case 1: out.push_back("+98" + d.substr(1)); break;                 // +989122345678
            case 2: out.push_back("0098" + d.substr(1)); break;                // 00989123456789
            case 3:                                                            // 0912 456 7890
                out.push_back(d.substr(0, 4) + " " + d.substr(4, 3) + " " + d.substr(7));
                break;
            case 4: out.push_back(persian_digits(d)); break;                   // ۰۹۱۲۵۶۷۸۹۰۱
            default:                                                           // +98 (912) 678-9012
                out.push_back("+98 (" + d.substr(1, 3) + ") " + d.substr(4, 3) + "-" + d.substr(7));
                break;
        }
    }
    // Callers Ringside does not know: the pop shows an unknown number.
    for (const char* unknown : {"09390001122", "+98 938 765 4321", "۰۹۱۵۹۸۷۶۵۴۳", "02144001234"})
        out.emplace_back(unknown);
    return out;
}

}  // namespace ringside
