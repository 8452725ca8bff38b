package atomicfile

import (
	"os"
	"strings"
)

// Windows has no mode bits: a file's access is its ACL. Write maps a Unix
// mode to one protected DACL (no entry inherited from the directory, which
// under C:\ProgramData grants every user read access):
//
//	SYSTEM, Administrators  full control (they can take any file anyway,
//	                        as root reads any file on Unix)
//	the account rotor runs  full control: it must read, replace and
//	as                      re-protect the file on the next write, as a
//	                        Unix owner always may
//	Owner.User              the owner bits, when set and another account
//	Owner.Group             the group bits, when set
//	BUILTIN\Users           the "other" bits
//
// So 0600 and 0640 without a group are owner-only: SYSTEM, Administrators
// and rotor's account; 0644 lets every local user read. The read, write
// and execute bits become FILE_GENERIC_READ, FILE_GENERIC_WRITE and
// FILE_GENERIC_EXECUTE. Windows-only code builds and applies it; this
// file is plain logic so that Linux tests check the mapping.

// principals are the SIDs (S-1-5-...) the DACL names. User and Group
// may be empty.
type principals struct {
	Writer, User, Group string
}

// usersSID is BUILTIN\Users, which holds every local and domain user
// (Authenticated Users is a member), service accounts and IIS
// application pool identities included.
const usersSID = "S-1-5-32-545"

// sddlFor returns the SDDL of the protected DACL for mode.
func sddlFor(mode os.FileMode, p principals) string {
	var b strings.Builder
	b.WriteString("D:P(A;;FA;;;SY)(A;;FA;;;BA)")
	ace := func(bits os.FileMode, sid string) {
		if r := fileRights(bits); r != "" && sid != "" {
			b.WriteString("(A;;" + r + ";;;" + sid + ")")
		}
	}
	ace(os.FileMode(07), p.Writer) // full control, always
	if p.User != p.Writer {
		ace(mode>>6&07, p.User)
	}
	ace(mode>>3&07, p.Group)
	ace(mode&07, usersSID)
	return b.String()
}

// fileRights returns the SDDL rights for rwx bits; "FA" (all) for the
// writer's 07.
func fileRights(bits os.FileMode) string {
	if bits == 07 {
		return "FA"
	}
	var r string
	if bits&04 != 0 {
		r += "FR"
	}
	if bits&02 != 0 {
		r += "FW"
	}
	if bits&01 != 0 {
		r += "FX"
	}
	return r
}

// accessEntry is one entry of a DACL, as read back from a file.
type accessEntry struct {
	Allow bool
	Mask  uint32
	SID   string
}

// sameAccess reports whether two DACLs grant the same access: the same
// rights per SID (entries for one SID add up), and no deny entry. The
// order and flags of entries do not matter, so a DACL Windows stored in
// its canonical order still equals the one Write asked for.
func sameAccess(got, want []accessEntry) bool {
	sum := func(es []accessEntry) (map[string]uint32, bool) {
		m := map[string]uint32{}
		for _, e := range es {
			if !e.Allow {
				return nil, false
			}
			m[e.SID] |= e.Mask
		}
		return m, true
	}
	g, ok1 := sum(got)
	w, ok2 := sum(want)
	if !ok1 || !ok2 || len(g) != len(w) {
		return false
	}
	for sid, mask := range g {
		if m, ok := w[sid]; !ok || m != mask {
			return false
		}
	}
	return true
}
