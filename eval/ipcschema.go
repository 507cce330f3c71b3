package eval

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// CheckIPCSchema reads the schema of an Arrow IPC file (the footer) or
// stream (the first message) without decoding it, and checks that every
// list it declares (fields, children, metadata) fits in the bytes there
// are. arrow-go allocates such lists at the length the file claims before
// reading them, so a corrupt length near 2³² ends the process with an out
// of memory error that no recover can catch; checked here, it is a data
// error. size is the data's length, file whether it is the file format
// (which starts "ARROW1"). The loaders call it; a service decoding IPC
// data it was sent calls it before ipc.NewReader or ipc.NewFileReader.
func CheckIPCSchema(r io.ReaderAt, size int64, file bool) error {
	var buf []byte
	var root int
	if file {
		// "ARROW1" padding ... footer, int32 footer length, "ARROW1"
		if size < 8+10 {
			return errors.New("file too small for an Arrow IPC file")
		}
		var tail [10]byte
		if _, err := r.ReadAt(tail[:], size-10); err != nil {
			return err
		}
		n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
		if n <= 0 || n > size-18 {
			return fmt.Errorf("the footer claims %d bytes in a file of %d bytes", n, size)
		}
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, size-10-n); err != nil {
			return err
		}
		footer, err := rootTable(buf)
		if err != nil {
			return err
		}
		root, err = fbTableField(buf, footer, 1) // Footer.schema
		if err != nil || root == 0 {
			return orMissing(err, "the footer has no schema")
		}
	} else {
		var head [8]byte
		if size < 8 {
			return nil // ipc.NewReader reports a stream this short
		}
		if _, err := r.ReadAt(head[:], 0); err != nil {
			return err
		}
		off := int64(4)
		n := int64(int32(binary.LittleEndian.Uint32(head[:4])))
		if uint32(n) == 0xFFFFFFFF { // continuation marker, then the length
			off, n = 8, int64(int32(binary.LittleEndian.Uint32(head[4:])))
		}
		if n <= 0 || n > size-off {
			return fmt.Errorf("the first message claims %d bytes in a stream of %d bytes", n, size)
		}
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, off); err != nil {
			return err
		}
		msg, err := rootTable(buf)
		if err != nil {
			return err
		}
		// Message.bodyLength: arrow-go allocates the body before reading
		// it, so it must fit in what follows the metadata.
		if p, err := fbField(buf, msg, 3); err != nil {
			return err
		} else if p != 0 {
			if p+8 > len(buf) {
				return errCorruptSchema
			}
			body := int64(binary.LittleEndian.Uint64(buf[p:]))
			if body < 0 || body > size-off-n {
				return fmt.Errorf("the first message claims a body of %d bytes in a stream of %d bytes", body, size)
			}
		}
		root, err = fbTableField(buf, msg, 2) // Message.header
		if err != nil || root == 0 {
			return orMissing(err, "the first message has no header")
		}
	}
	return checkSchemaTable(buf, root, size)
}

func orMissing(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// checkSchemaTable checks Schema.fields (slot 1) and custom_metadata
// (slot 2), and each field's children and metadata, to a depth of 64.
func checkSchemaTable(buf []byte, schema int, size int64) error {
	n, pos, err := fbVector(buf, schema, 1)
	if err != nil {
		return err
	}
	if n > len(buf)/4 {
		return fmt.Errorf("the schema claims %d fields in a file of %d bytes", n, size)
	}
	if err := checkMetadata(buf, schema, 2, size); err != nil {
		return err
	}
	return checkFields(buf, pos, n, size, 0)
}

func checkFields(buf []byte, pos, n int, size int64, depth int) error {
	if depth > 64 {
		return errors.New("the schema nests fields deeper than 64")
	}
	for i := range n {
		field, err := fbIndirect(buf, pos+4*i)
		if err != nil {
			return err
		}
		kids, kpos, err := fbVector(buf, field, 5) // Field.children
		if err != nil {
			return err
		}
		if kids > len(buf)/4 {
			return fmt.Errorf("a field claims %d children in a file of %d bytes", kids, size)
		}
		if err := checkMetadata(buf, field, 6, size); err != nil {
			return err
		}
		if err := checkFields(buf, kpos, kids, size, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func checkMetadata(buf []byte, table, slot int, size int64) error {
	n, _, err := fbVector(buf, table, slot)
	if err == nil && n > len(buf)/4 {
		err = fmt.Errorf("the schema claims %d metadata entries in a file of %d bytes", n, size)
	}
	return err
}

// The few flatbuffers reads the check needs, each bounds-checked.

var errCorruptSchema = errors.New("corrupt schema: an offset points outside the data")

func u32(buf []byte, pos int) (int, error) {
	if pos < 0 || pos+4 > len(buf) {
		return 0, errCorruptSchema
	}
	return int(binary.LittleEndian.Uint32(buf[pos:])), nil
}

func rootTable(buf []byte) (int, error) { return fbIndirect(buf, 0) }

// fbIndirect follows the unsigned offset stored at pos.
func fbIndirect(buf []byte, pos int) (int, error) {
	off, err := u32(buf, pos)
	if err != nil {
		return 0, err
	}
	if t := pos + off; t >= 0 && t < len(buf) {
		return t, nil
	}
	return 0, errCorruptSchema
}

// fbField returns the position of field slot of the table at t, or 0
// when the table does not have it.
func fbField(buf []byte, t, slot int) (int, error) {
	soff, err := u32(buf, t)
	if err != nil {
		return 0, err
	}
	vt := t - int(int32(uint32(soff)))
	if vt < 0 || vt+4 > len(buf) {
		return 0, errCorruptSchema
	}
	vtSize := int(binary.LittleEndian.Uint16(buf[vt:]))
	entry := 4 + 2*slot
	if entry+2 > vtSize || vt+entry+2 > len(buf) {
		return 0, nil
	}
	off := int(binary.LittleEndian.Uint16(buf[vt+entry:]))
	if off == 0 {
		return 0, nil
	}
	return t + off, nil
}

// fbTableField returns the table that field slot of t points to, or 0.
func fbTableField(buf []byte, t, slot int) (int, error) {
	p, err := fbField(buf, t, slot)
	if err != nil || p == 0 {
		return 0, err
	}
	return fbIndirect(buf, p)
}

// fbVector returns the length of the vector of field slot of t and the
// position of its first element; 0 when the table does not have it.
func fbVector(buf []byte, t, slot int) (n, pos int, err error) {
	v, err := fbTableField(buf, t, slot)
	if err != nil || v == 0 {
		return 0, 0, err
	}
	n, err = u32(buf, v)
	return n, v + 4, err
}

// checkStoredArrowSchema checks the Arrow schema a Parquet writer may
// store in the footer (key ARROW:schema, an IPC schema message in base64),
// which pqarrow decodes with the same unchecked allocations.
func checkStoredArrowSchema(md *metadata.FileMetaData) error {
	kv := md.KeyValueMetadata()
	if kv == nil {
		return nil
	}
	v := kv.FindValue("ARROW:schema")
	if v == nil {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(*v)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(*v); err != nil {
			return fmt.Errorf("corrupt ARROW:schema metadata: %v", err)
		}
	}
	if err := CheckIPCSchema(bytes.NewReader(raw), int64(len(raw)), false); err != nil {
		return fmt.Errorf("corrupt ARROW:schema metadata: %v", err)
	}
	return nil
}

// boundedAllocator refuses, by panicking (which the loader's recover turns
// into a data error), one buffer larger than a file of size bytes could
// hold: arrow-go allocates a message body at the length the stream claims
// before reading it, so a corrupt length would otherwise end the process
// out of memory. Compressed buffers may decompress to more than the file,
// so the bound allows 255 times the file (LZ4's best ratio), and at least
// 64 MiB, but never above 16 GiB for one buffer.
type boundedAllocator struct {
	memory.Allocator
	max  int
	size int64
}

func newBoundedAllocator(mem memory.Allocator, size int64) *boundedAllocator {
	limit := min(max(64<<20, 255*size), 16<<30)
	return &boundedAllocator{Allocator: mem, max: int(limit), size: size}
}

func (a *boundedAllocator) check(n int) {
	if n > a.max || n < 0 {
		panic(fmt.Sprintf("a buffer of %d bytes is claimed in a file of %d bytes", n, a.size))
	}
}

// Allocate implements memory.Allocator.
func (a *boundedAllocator) Allocate(n int) []byte {
	a.check(n)
	return a.Allocator.Allocate(n)
}

// Reallocate implements memory.Allocator.
func (a *boundedAllocator) Reallocate(n int, b []byte) []byte {
	a.check(n)
	return a.Allocator.Reallocate(n, b)
}
