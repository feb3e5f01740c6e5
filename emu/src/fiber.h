// Fibers for cuemu: a stack, a saved stack pointer, and a switch (fiber_x86_64.S).
// About 5 ns a switch, against ~175 ns for swapcontext, which also saves the signal mask
// with a system call.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" void cuemu_fiber_switch(void** save_sp, void* load_sp);
extern "C" void cuemu_fiber_trampoline();

namespace cuemu {

// Lays out the first frame of a fiber on [lo, lo + size) so that switching to the
// returned stack pointer enters entry(arg) through the trampoline. Must match the
// push/pop order in fiber_x86_64.S: control words, r15, r14, r13, r12, rbx, rbp, rip.
inline void* cuemu_fiber_init(char* lo, size_t size, void (*entry)(void*), void* arg) {
    uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;  // trampoline sees a 16-aligned rsp
    uint64_t* sp = (uint64_t*)(top - 64);
    uint32_t* ctl = (uint32_t*)sp;
    ctl[0] = 0x1f80;  // MXCSR: all exceptions masked, round to nearest
    ctl[1] = 0x037f;  // x87 control word: the Linux default
    sp[1] = 0;                                  // r15
    sp[2] = 0;                                  // r14
    sp[3] = (uint64_t)(uintptr_t)arg;           // r13
    sp[4] = (uint64_t)(uintptr_t)entry;         // r12
    sp[5] = 0;                                  // rbx
    sp[6] = 0;                                  // rbp
    sp[7] = (uint64_t)(uintptr_t)&cuemu_fiber_trampoline;
    return sp;
}

}  // namespace cuemu
