// libFuzzer target: the dialog-info reader must never crash, throw or
// return more dialogs than its limit, for any bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringside/sip/dialog_info.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ringside::sip::DialogInfoLimits limits;
    limits.max_dialogs = 8;
    limits.max_bytes = 16 * 1024;
    std::string error;
    auto info = ringside::sip::parse_dialog_info(std::string_view(reinterpret_cast<const char*>(data), size), &error, limits);
    if (info && info->dialogs.size() > limits.max_dialogs) __builtin_trap();
    if (!info && error.empty()) __builtin_trap();
    return 0;
}
