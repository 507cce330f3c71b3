package dsl

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// readInside reads name from fsys, refusing a path through a symbolic
// link that leads out of fsys: measure files may come from untrusted
// hands, and os.DirFS follows links wherever they point. A link that stays
// inside (a relative target that does not climb above the root) is
// followed.
func readInside(fsys fs.FS, name string) ([]byte, error) {
	if err := checkInside(fsys, name, 0); err != nil {
		return nil, err
	}
	return fs.ReadFile(fsys, name)
}

var errLinkOut = errors.New("a symbolic link leads outside the measure directory")

func checkInside(fsys fs.FS, name string, hops int) error {
	if _, ok := fsys.(fs.ReadLinkFS); !ok {
		return nil // no links to follow: an embed.FS or an fstest.MapFS
	}
	if hops > 8 {
		return fmt.Errorf("%s: too many symbolic links", name)
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		prefix := path.Join(parts[:i+1]...)
		info, err := fs.Lstat(fsys, prefix)
		if err != nil {
			return nil // fs.ReadFile reports a missing file
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := fs.ReadLink(fsys, prefix)
		if err != nil {
			return err
		}
		if path.IsAbs(target) || strings.HasPrefix(target, "/") {
			return fmt.Errorf("%s: %w (to %s)", prefix, errLinkOut, target)
		}
		resolved := path.Join(path.Dir(prefix), target)
		if resolved == ".." || strings.HasPrefix(resolved, "../") {
			return fmt.Errorf("%s: %w", prefix, errLinkOut)
		}
		rest := path.Join(append([]string{resolved}, parts[i+1:]...)...)
		return checkInside(fsys, rest, hops+1)
	}
	return nil
}
