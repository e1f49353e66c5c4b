/* sc_wire: constants of the end-to-end (inner) message layer, docs/PROTOCOL.md 5-6.
 * Every inner message starts with SC_WIRE_VERSION and a kind byte. Header-only. */
#ifndef SC_WIRE_H
#define SC_WIRE_H

#define SC_WIRE_VERSION 1u

enum sc_wire_kind {
    SC_KIND_HS1 = 0x01,
    SC_KIND_HS2 = 0x02,
    SC_KIND_HS3 = 0x03,
    SC_KIND_CHAN = 0x04,
    SC_KIND_GROUP = 0x05
};

/* Channel content types (first plaintext byte of a CHAN message). */
enum sc_wire_ctype { SC_CTYPE_SKD = 0x01 };

/* Group plaintext types (first byte before padding). */
enum sc_wire_ptype { SC_PTYPE_TEXT = 0x01 };

#endif
