package main

import (
	"encoding/binary"
	"fmt"
)

// checkIPCSchema checks the schema of an Arrow IPC stream or file before
// arrow-go reads it: arrow-go allocates a slice for every vector of the
// schema's flatbuffer (fields, children, metadata) by the count the vector
// claims, and a corrupt count near 2^32 in a file of a few hundred bytes
// then ends the process with "fatal error: runtime: out of memory", which
// no recover catches (testdata/catalogue/crashers/enrollment-ipc-oom.arrow).
// It verifies that each such vector fits in the bytes that hold it, and
// leaves every other check to arrow-go.
func checkIPCSchema(b []byte, f format) error {
	var msg []byte
	switch f {
	case formatIPCStream:
		// 0xFFFFFFFF, the metadata length, the Message flatbuffer.
		n, ok := u32(b, 4)
		if !ok || int64(n) > int64(len(b)-8) {
			return nil // truncated: arrow-go says so
		}
		msg = b[8 : 8+int(n)]
	case formatIPCFile:
		// ... the Footer flatbuffer, its int32 length, "ARROW1".
		if len(b) < 16 {
			return nil
		}
		n, _ := u32(b, len(b)-10)
		if int64(n) > int64(len(b)-16) {
			return nil
		}
		msg = b[len(b)-10-int(n) : len(b)-10]
	default:
		return nil
	}
	fb := flatbuf(msg)
	root, ok := fb.root()
	if !ok {
		return nil
	}
	schemaField := 1 // Footer.schema
	if f == formatIPCStream {
		if typ, ok := fb.scalar8(root, 1); !ok || typ != 1 { // Message.header_type: Schema
			return nil
		}
		schemaField = 2 // Message.header
	}
	schema, ok := fb.table(root, schemaField)
	if !ok {
		return nil
	}
	return fb.checkSchema(schema, len(b))
}

// flatbuf reads a flatbuffer without trusting it: every offset is checked
// against the buffer, and a malformed one reads as absent.
type flatbuf []byte

func u32(b []byte, off int) (uint32, bool) {
	if off < 0 || off > len(b)-4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[off:]), true
}

// fbTable is a table's position and its vtable's.
type fbTable struct{ pos, vt, vtLen int }

func (f flatbuf) tableAt(pos int) (fbTable, bool) {
	s, ok := u32(f, pos)
	if !ok {
		return fbTable{}, false
	}
	vt := pos - int(int32(s))
	if vt < 0 || vt > len(f)-4 {
		return fbTable{}, false
	}
	vtLen := int(binary.LittleEndian.Uint16(f[vt:]))
	if vtLen < 4 || vt+vtLen > len(f) {
		return fbTable{}, false
	}
	return fbTable{pos: pos, vt: vt, vtLen: vtLen}, true
}

func (f flatbuf) root() (fbTable, bool) {
	off, ok := u32(f, 0)
	if !ok {
		return fbTable{}, false
	}
	return f.tableAt(int(off))
}

// field returns the position of field i of t, or false when absent.
func (f flatbuf) field(t fbTable, i int) (int, bool) {
	slot := 4 + 2*i
	if slot+2 > t.vtLen {
		return 0, false
	}
	o := int(binary.LittleEndian.Uint16(f[t.vt+slot:]))
	if o == 0 || t.pos+o > len(f) {
		return 0, false
	}
	return t.pos + o, true
}

// indirect follows the offset stored at pos.
func (f flatbuf) indirect(pos int) (int, bool) {
	o, ok := u32(f, pos)
	if !ok || int64(pos)+int64(o) > int64(len(f)) {
		return 0, false
	}
	return pos + int(o), true
}

func (f flatbuf) scalar8(t fbTable, i int) (byte, bool) {
	p, ok := f.field(t, i)
	if !ok || p >= len(f) {
		return 0, false
	}
	return f[p], true
}

// table returns the table field i of t refers to.
func (f flatbuf) table(t fbTable, i int) (fbTable, bool) {
	p, ok := f.field(t, i)
	if !ok {
		return fbTable{}, false
	}
	if p, ok = f.indirect(p); !ok {
		return fbTable{}, false
	}
	return f.tableAt(p)
}

// vector returns the start and length of the vector field i of t, with an
// error when its elements of size elem cannot fit in the buffer.
func (f flatbuf) vector(t fbTable, i, elem int, what string, total int) (start, n int, err error) {
	p, ok := f.field(t, i)
	if !ok {
		return 0, 0, nil
	}
	if p, ok = f.indirect(p); !ok {
		return 0, 0, nil
	}
	count, ok := u32(f, p)
	if !ok {
		return 0, 0, nil
	}
	if uint64(count)*uint64(elem) > uint64(len(f)-p-4) {
		return 0, 0, fmt.Errorf("the schema claims %d %s in a part of %d bytes", count, what, total)
	}
	return p + 4, int(count), nil
}

// The flatbuffer field numbers of Arrow's Schema.fbs.
const (
	schemaFields, schemaMetadata, schemaFeatures = 1, 2, 3
	fieldTypeType, fieldType                     = 2, 3
	fieldChildren, fieldMetadata                 = 5, 6
	typeUnion, unionTypeIDs                      = 14, 1
	maxNesting                                   = 64
)

func (f flatbuf) checkSchema(s fbTable, total int) error {
	if _, _, err := f.vector(s, schemaMetadata, 4, "metadata entries", total); err != nil {
		return err
	}
	if _, _, err := f.vector(s, schemaFeatures, 8, "features", total); err != nil {
		return err
	}
	return f.checkFields(s, schemaFields, 0, total)
}

// checkFields checks the vector of fields (field i of t) and, in turn,
// each field's children, metadata and union type ids.
func (f flatbuf) checkFields(t fbTable, i, depth, total int) error {
	what := "fields"
	if depth > 0 {
		what = "children of a field"
	}
	if depth > maxNesting {
		return fmt.Errorf("the schema nests fields more than %d deep", maxNesting)
	}
	start, n, err := f.vector(t, i, 4, what, total)
	if err != nil {
		return err
	}
	for k := range n {
		p, ok := f.indirect(start + 4*k)
		if !ok {
			continue
		}
		field, ok := f.tableAt(p)
		if !ok {
			continue
		}
		if _, _, err := f.vector(field, fieldMetadata, 4, "metadata entries of a field", total); err != nil {
			return err
		}
		if typ, ok := f.scalar8(field, fieldTypeType); ok && typ == typeUnion {
			if u, ok := f.table(field, fieldType); ok {
				if _, _, err := f.vector(u, unionTypeIDs, 4, "type ids of a union", total); err != nil {
					return err
				}
			}
		}
		if err := f.checkFields(field, fieldChildren, depth+1, total); err != nil {
			return err
		}
	}
	return nil
}
