# Fiber context switch for x86-64 System V (our own; see emu/src/fiber.h).
#
#   void cuemu_fiber_switch(void **save_sp, void *load_sp)
#
# Saves the callee-saved registers, MXCSR and the x87 control word on the current
# stack, stores the stack pointer to *save_sp, loads load_sp and restores the same
# set from there. The resume address is popped into r8 and jumped to rather than
# using `ret`, which would unbalance the return-stack predictor (two stacks).
        .text
        .globl  cuemu_fiber_switch
        .type   cuemu_fiber_switch, @function
        .p2align 4
cuemu_fiber_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %r8
        jmpq    *%r8
        .cfi_endproc
        .size   cuemu_fiber_switch, .-cuemu_fiber_switch

# First entry of a fresh fiber: the initial frame built by cuemu_fiber_init puts the
# entry function in r12 and its argument in r13. The entry never returns; if it did,
# ud2 stops the program at once instead of running off into garbage.
        .globl  cuemu_fiber_trampoline
        .type   cuemu_fiber_trampoline, @function
        .p2align 4
cuemu_fiber_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   cuemu_fiber_trampoline, .-cuemu_fiber_trampoline

        .section .note.GNU-stack,"",@progbits
