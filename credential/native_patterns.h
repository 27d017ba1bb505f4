/*
 * credential/native_patterns.h: the JSON Schema string patterns the C recognizers match, by the
 * exact text of each pattern (`credential.schema_forms.NATIVE_PATTERNS` names their codes),
 * on valid UTF-8. Shared by native_sign.c (a bulk JSONL record, from its bytes) and
 * native_verify.c (check 2 of a parsed credential): one matcher per pattern. Each answers 1 only
 * for a text jsonschema-rs matches too (the doubtful characters are refused, so the caller
 * declines and the Python path decides); tests/issuer/test_bulk_native_sign_records.py and
 * tests/verifier/test_native_schema_form.py compare them with jsonschema-rs.
 */
#ifndef TALENTPROOF_NATIVE_PATTERNS_H
#define TALENTPROOF_NATIVE_PATTERNS_H
#include <Python.h>
#include <string.h>

enum { P_NONE = 0, P_HOLDER = 1, P_PERSON_NAME = 2, P_DATE = 3, P_COUNTRY = 4,
       P_COMMITMENT = 5, P_URI = 6, P_LAST = 6 };
/* (not a pattern native_sign's recognizer takes: P_LAST stays its bound) the strict form
 * YYYY-MM-DDTHH:MM:SSZ of the schemas' dateTimeStamp pattern (native_verify.c, `dts_form`) */
#define P_DATETIME 7

/* The next code point of valid UTF-8 at *p (advanced). */
static unsigned next_cp(const unsigned char **p) {
    const unsigned char *s = *p;
    unsigned c = s[0];
    if (c < 0x80) {
        *p = s + 1;
        return c;
    }
    if (c < 0xE0) {
        *p = s + 2;
        return ((c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0) {
        *p = s + 3;
        return ((c & 0x0F) << 12) | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *p = s + 4;
    return ((c & 0x07) << 18) | ((unsigned)(s[1] & 0x3F) << 12) | ((unsigned)(s[2] & 0x3F) << 6) |
           (s[3] & 0x3F);
}

/* Every white space or invisible separator any regex dialect's \s may name, the controls and
 * the bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069, which the name pattern
 * refuses): a name holding one is left to the Python path (which may well accept a space). */
static int doubtful_in_name(unsigned cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0x1680 || cp == 0x180E ||
           (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202F) || cp == 0x205F || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x3000 || cp == 0xFEFF;
}

/* [^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff] */
static int uri_rest_ok(unsigned cp) {
    return !(cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0x1680 ||
             (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
             cp == 0x205F || cp == 0x3000 || cp == 0xFEFF);
}

static const char B58_DIGITS[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* base58btc digit values (255: not a digit; `b58_table`) */
static unsigned char B58_VALUE[256];
static inline int is_b58(unsigned c) { return B58_VALUE[c & 0xFF] != 255; }
static inline int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static inline int is_alpha(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* ^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$ */
static int date_form(const unsigned char *s, Py_ssize_t n) {
    if (n != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i])) return 0;
    int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static int pattern_ok(int pattern, const unsigned char *s, Py_ssize_t n) {
    switch (pattern) {
    case P_NONE: return 1;
    case P_HOLDER: /* ^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$ */
        if (n != 56 || memcmp(s, "did:key:z6Mk", 12) != 0) return 0;
        for (int i = 12; i < 56; i++)
            if (!is_b58(s[i])) return 0;
        return 1;
    case P_PERSON_NAME: {
        /* ^[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069](...)?$
         * (schema_forms.NATIVE_PATTERNS): no doubtful character anywhere, no space first or
         * last */
        if (n == 0 || s[0] == ' ' || s[n - 1] == ' ') return 0;
        const unsigned char *p = s, *end = s + n;
        while (p < end)
            if (doubtful_in_name(next_cp(&p))) return 0;
        return 1;
    }
    case P_DATE: return date_form(s, n);
    case P_COUNTRY: /* ^[A-Z]{2}$ */
        return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
    case P_COMMITMENT: /* ^hmac-sha256:[A-Za-z0-9_-]{43}$ */
        if (n != 55 || memcmp(s, "hmac-sha256:", 12) != 0) return 0;
        for (int i = 12; i < 55; i++)
            if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-')) return 0;
        return 1;
    case P_URI: { /* ^[a-zA-Z][a-zA-Z0-9+.-]*:[^...]+$ (the scheme cannot hold ':') */
        if (n < 3 || !is_alpha(s[0])) return 0;
        Py_ssize_t i = 1;
        while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '.' ||
                         s[i] == '-'))
            i++;
        if (i >= n - 1 || s[i] != ':') return 0;
        const unsigned char *p = s + i + 1, *end = s + n;
        while (p < end)
            if (!uri_rest_ok(next_cp(&p))) return 0;
        return 1;
    }
    }
    return 0;
}

static Py_ssize_t code_points(const char *s, Py_ssize_t n) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

static void b58_table(void) {
    memset(B58_VALUE, 255, sizeof B58_VALUE);
    for (int i = 0; i < 58; i++) B58_VALUE[(unsigned char)B58_DIGITS[i]] = (unsigned char)i;
}

#endif
