#pragma once
#include <string_view>

namespace ringside {

/// The caller id text a PBX writes for a withheld or masked caller: empty (or
/// blanks), "anonymous", "restricted", "unknown", "<unknown>", "private",
/// "unavailable", "withheld" (any case, "<...>" around it allowed), a SIP
/// "anonymous@anonymous.invalid", or digits with a run of x/X in place of
/// some ("+31260xxxxxx", "0912 XXX XXXX"). Such a caller is nobody's number:
/// it is shown as withheld and never matched to a customer. Presentation
/// flags (a PBX saying "prohibited" about a real number) are the adapters'
/// to read; this only knows the text.
bool is_withheld_number(std::string_view raw);

}  // namespace ringside
