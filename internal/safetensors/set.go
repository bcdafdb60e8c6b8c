package safetensors

import (
	"fmt"
	"sort"
)

// Set is several safetensors files seen as one name space (a sharded
// checkpoint). A tensor name may appear in only one file.
type Set struct {
	files []*File
	where map[string]*File
}

// OpenSet opens every path; on error nothing stays open.
func OpenSet(paths ...string) (*Set, error) {
	s := &Set{where: map[string]*File{}}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, f)
		for _, n := range f.Names() {
			if other, dup := s.where[n]; dup {
				s.Close()
				return nil, fmt.Errorf("safetensors: tensor %q is in both %s and %s", n, other.Path(), p)
			}
			s.where[n] = f
		}
	}
	return s, nil
}

// FileOf returns the file that holds the named tensor.
func (s *Set) FileOf(name string) (*File, bool) { f, ok := s.where[name]; return f, ok }

// Has reports whether any file holds the tensor.
func (s *Set) Has(name string) bool { _, ok := s.where[name]; return ok }

// Tensor returns the named tensor from whichever file holds it.
func (s *Set) Tensor(name string) (Tensor, error) {
	f, ok := s.where[name]
	if !ok {
		return Tensor{}, fmt.Errorf("missing tensor %q", name)
	}
	return f.Tensor(name)
}

// Release drops the tensor's resident pages (see File.Release).
func (s *Set) Release(t Tensor) {
	if f, ok := s.where[t.Name]; ok {
		f.Release(t)
	}
}

// Names returns all tensor names, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.where))
	for n := range s.where {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Files returns the underlying files.
func (s *Set) Files() []*File { return s.files }

// Close closes every file.
func (s *Set) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.files, s.where = nil, nil
	return first
}
