/*
 * The SDK's private syscall instructions, shared by sys.c (the typed
 * wrappers) and print.c (SYS_PANIC with a formatted message).
 */
#ifndef DOM_SYSCALL_H
#define DOM_SYSCALL_H

/*
 * abi.h's convention: number in %rax, arguments in %rdi, %rsi, %rdx, result in
 * %rax; SYSCALL itself clobbers %rcx (return address) and %r11 (RFLAGS).
 * "memory": the kernel reads and writes buffers the arguments point to.
 */
static inline long syscall0(long nr)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall1(long nr, long a0)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0) : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall2(long nr, long a0, long a1)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall3(long nr, long a0, long a1, long a2)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
			 : "rcx", "r11", "memory");
	return ret;
}

#endif
