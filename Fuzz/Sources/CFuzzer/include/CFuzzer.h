#ifndef CFUZZER_H
#define CFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt), run from the executable's own entry point: SwiftPM
/// names an executable's main `<Module>_main` and points `main` at it, so libFuzzer's own
/// main is never linked.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
