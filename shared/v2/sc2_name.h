/*
 * sc2_name: showing members' display names so that names which collide or look alike can
 * be told apart (issue 14 item 6). Sans-I/O, no allocation, caller-owned buffers.
 *
 * sc2_name_display renders a name on one line with every character that could hide,
 * reorder or break text made visible as an escape: C0/C1 controls and DEL, bidi controls
 * (U+061C, U+200E/200F, U+202A..202E, U+2066..2069), zero-width and invisible characters
 * (U+00AD, U+034F, U+115F/1160, U+17B4/17B5, U+180B..180F, U+200B..200D, U+2060..2064,
 * U+3164, U+FEFF, U+FFA0, variation selectors U+FE00..FE0F and U+E0100..E01EF, tag
 * characters U+E0000..E007F), the other format characters (U+0600..0605, U+06DD, U+070F,
 * U+08E2, U+110BD, U+110CD, U+FFF9..FFFB, U+1D173..1D17A, U+13430..1343F, U+1BCA0..1BCA3),
 * line/paragraph separators (U+2028/2029), spaces other than U+0020 (U+00A0, U+1680,
 * U+2000..200A, U+202F, U+205F, U+3000). An escape is
 * "\u{HEX}" (uppercase hex); a byte that is not part of valid UTF-8 is "\x{HEX}"; a
 * backslash is "\\" so that a name cannot spell an escape.
 *
 * sc2_name_skeleton folds a name in the spirit of Unicode UTS #39 "skeleton": two names
 * look alike when their skeletons are equal. It is a hand-made table, NOT the UTS #39
 * data (Debian 12 ships no confusables.txt: unicode-data has UnicodeData.txt but not the
 * security files). What it covers, per code point, in this order:
 *   - removal of everything sc2_name_display escapes (invisible, format, controls) and of
 *     combining marks (U+0300..036F, U+0483..0489, U+1AB0..1AFF, U+1DC0..1DFF,
 *     U+20D0..20FF, U+FE20..FE2F); other spaces become U+0020;
 *   - compatibility forms: fullwidth ASCII (U+FF01..FF5E), mathematical alphanumerics
 *     (U+1D400..1D6A3, U+1D7CE..1D7FF), circled letters
 *     (U+24B6..24E9), superscript and subscript digits, the Latin ligatures U+FB00..FB06,
 *     Roman numerals U+2160..217F (single letters only), Kelvin/Angstrom/Ohm signs;
 *   - Latin-1 and Latin Extended-A letters with diacritics to their base letter;
 *   - cross-script confusables to a Latin letter: Cyrillic а е о р с у х і ј ѕ һ ԁ ԛ ԝ ӏ
 *     and the capitals А В Е К М Н О Р С Т Х І Ј Ѕ Ү Ԛ Ԝ Ӏ, Greek α ι κ ν ο ρ τ υ χ
 *     and the capitals Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ, Latin ı ɑ ɡ ɩ ℓ, and 0 -> o, 1 | I -> l;
 *   - case folding (ASCII, Greek, Cyrillic; Latin-1 through the base letters);
 *   - the sequences rn -> m, vv -> w, cl -> d (after the steps above).
 * What it does not cover: the rest of UTS #39 (other scripts' confusables: Armenian,
 * Cherokee, CJK, Arabic digits ...), full NFKC, whole-script and mixed-script detection.
 * A skeleton is a comparison key, never shown.
 */
#ifndef SC2_NAME_H
#define SC2_NAME_H

#include <stddef.h>
#include <stdint.h>

#define SC2_NAME_MAX 64u /* bytes of a display name (SC2_ROOM_MAX_NAME) */
/* Enough for the display of any name of at most SC2_NAME_MAX bytes, NUL included (an
 * escape is at most 6 bytes per input byte). */
#define SC2_NAME_DISPLAY_MAX (6u * SC2_NAME_MAX + 1u)
/* Enough for the skeleton of any name of at most SC2_NAME_MAX bytes, NUL included. */
#define SC2_NAME_SKELETON_MAX (3u * SC2_NAME_MAX + 1u)

/* Renders name[0..len) (any bytes; valid UTF-8 expected) into out[0..cap) as described
 * above, NUL-terminated. The result is valid UTF-8 with no character that
 * sc2_name_hidden reports. Returns its length (without the NUL), or -1 if it does not fit
 * cap (out is then "" if cap > 0). */
int sc2_name_display(const uint8_t *name, size_t len, char *out, size_t cap);

/* Writes the skeleton of name[0..len) into out[0..cap), NUL-terminated; valid UTF-8
 * (an invalid byte becomes U+FFFD); skeleton(skeleton(x)) == skeleton(x). Returns its
 * length, or -1 if it does not fit cap (out is then "" if cap > 0). */
int sc2_name_skeleton(const uint8_t *name, size_t len, char *out, size_t cap);

/* Whether names[i] collides or looks alike with another names[j] (j != i): equal
 * skeletons. names are NUL-terminated; NULL entries are skipped. Returns 1 or 0 (0 also if
 * i >= n or names[i] is NULL). A name whose skeleton does not fit SC2_NAME_SKELETON_MAX is
 * compared byte for byte. */
int sc2_name_ambiguous(const char *const names[], size_t n, size_t i);

/* Whether code point cp is one sc2_name_display escapes (1) or shows as is (0). */
int sc2_name_hidden(uint32_t cp);

#endif
