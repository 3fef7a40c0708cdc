/*
 * printf-style formatting for the kernel, the loader and domains. No
 * floating point (the kernel is built without SSE).
 */
#include <lib/fmt.h>
#include <stdbool.h>
#include <stdint.h>

struct out {
	char *buf;
	size_t size;
	size_t len; /* bytes the full output needs so far */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

/* Widths and precisions beyond this are clamped: no caller needs more, and
 * it keeps the arithmetic far from int overflow. */
#define FMT_FIELD_MAX 4096

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec; /* -1: none */
};

static void emit_string(struct out *o, const struct spec *sp, const char *s)
{
	int len = 0;
	if (!s)
		s = "(null)";
	while ((sp->prec < 0 || len < sp->prec) && s[len])
		len++;
	if (!sp->left)
		pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

/* `is_signed` selects whether the + and space flags apply (C11 7.21.6.1p6). */
static void emit_number(struct out *o, const struct spec *sp, uint64_t v, bool neg, bool is_signed,
			unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (sp->prec == 0 && n == 1 && tmp[0] == '0')
		n = 0; /* C: zero with precision 0 prints no digits */

	char sign = neg ? '-' : !is_signed ? 0 : sp->plus ? '+' : sp->space ? ' ' : 0;
	int plen = 0;
	while (prefix[plen])
		plen++;
	int zeros = sp->prec > n ? sp->prec - n : 0;
	/* %#o: the alternate form only makes sure the first digit is a zero. */
	if (base == 8 && plen && (zeros || (n && tmp[n - 1] == '0')))
		plen = 0;
	int total = n + zeros + plen + (sign ? 1 : 0);
	if (sp->zero && !sp->left && sp->prec < 0 && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if (!sp->left)
		pad(o, ' ', sp->width - total);
	if (sign)
		put(o, sign);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, ' ', sp->width - total);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_PTRDIFF, LEN_MAX };

static uint64_t arg_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	case LEN_PTRDIFF:
		return (uint64_t)va_arg(*ap, ptrdiff_t);
	case LEN_MAX:
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
	case LEN_PTRDIFF:
		return va_arg(*ap, ptrdiff_t);
	case LEN_MAX:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

/* Decimal digits at *f, advancing it; clamped at FMT_FIELD_MAX. */
static int parse_count(const char **f)
{
	int v = 0;
	while (**f >= '0' && **f <= '9') {
		v = v * 10 + (*(*f)++ - '0');
		if (v > FMT_FIELD_MAX)
			v = FMT_FIELD_MAX;
	}
	return v;
}

/* Parse flags, width, precision and length at *fmt; advances it. */
static enum length parse_spec(const char **fmt, struct spec *sp, va_list *ap)
{
	const char *f = *fmt;
	*sp = (struct spec){.prec = -1};
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '+')
			sp->plus = true;
		else if (*f == ' ')
			sp->space = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = sp->width < -FMT_FIELD_MAX ? FMT_FIELD_MAX : -sp->width;
		}
		f++;
	} else {
		sp->width = parse_count(&f);
	}
	if (sp->width > FMT_FIELD_MAX)
		sp->width = FMT_FIELD_MAX;
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			if (sp->prec < 0)
				sp->prec = -1;
			else if (sp->prec > FMT_FIELD_MAX)
				sp->prec = FMT_FIELD_MAX;
			f++;
		} else {
			sp->prec = parse_count(&f);
		}
	}
	enum length len = LEN_INT;
	if (*f == 'h') {
		len = f[1] == 'h' ? LEN_CHAR : LEN_SHORT;
		f += f[1] == 'h' ? 2 : 1;
	} else if (*f == 'l') {
		len = f[1] == 'l' ? LEN_LLONG : LEN_LONG;
		f += f[1] == 'l' ? 2 : 1;
	} else if (*f == 'z') {
		len = LEN_SIZE;
		f++;
	} else if (*f == 't') {
		len = LEN_PTRDIFF;
		f++;
	} else if (*f == 'j') {
		len = LEN_MAX;
		f++;
	}
	*fmt = f;
	return len;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = {.buf = buf, .size = size};
	va_list ap;
	va_copy(ap, ap_in);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		struct spec sp;
		enum length len = parse_spec(&fmt, &sp, &ap);
		char conv = *fmt ? *fmt++ : 0;
		switch (conv) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&ap, len);
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			emit_number(&o, &sp, mag, v < 0, true, 10, false, "");
			break;
		}
		case 'u':
			emit_number(&o, &sp, arg_unsigned(&ap, len), false, false, 10, false, "");
			break;
		case 'o':
			emit_number(&o, &sp, arg_unsigned(&ap, len), false, false, 8, false,
				    sp.alt ? "0" : "");
			break;
		case 'x':
		case 'X': {
			uint64_t v = arg_unsigned(&ap, len);
			const char *prefix = sp.alt && v ? (conv == 'x' ? "0x" : "0X") : "";
			emit_number(&o, &sp, v, false, false, 16, conv == 'X', prefix);
			break;
		}
		case 'p':
			emit_number(&o, &sp, (uintptr_t)va_arg(ap, void *), false, false, 16, false,
				    "0x");
			break;
		case 's':
			emit_string(&o, &sp, va_arg(ap, const char *));
			break;
		case 'c': {
			char c[2] = {(char)va_arg(ap, int), 0};
			struct spec one = sp;
			one.prec = 1;
			if (!c[0]) { /* a NUL character still counts as output */
				if (!sp.left)
					pad(&o, ' ', sp.width - 1);
				put(&o, 0);
				if (sp.left)
					pad(&o, ' ', sp.width - 1);
			} else {
				emit_string(&o, &one, c);
			}
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			break;
		default: /* unknown conversion: print it literally */
			put(&o, '%');
			put(&o, conv);
			break;
		}
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
