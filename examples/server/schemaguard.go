package main

import (
	"bytes"

	"github.com/caremetrics/caremetrics/eval"
)

// checkIPCSchema checks an Arrow IPC part's schema with the library's
// check before arrow-go decodes it (eval.CheckIPCSchema: a corrupt list
// length would otherwise end the process out of memory). Parquet parts
// are checked when their footer is read.
func checkIPCSchema(b []byte, f format) error {
	switch f {
	case formatIPCStream, formatIPCFile:
		return eval.CheckIPCSchema(bytes.NewReader(b), int64(len(b)), f == formatIPCFile)
	}
	return nil
}
