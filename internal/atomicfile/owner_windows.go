//go:build windows

package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// oNoFollow opens a symbolic link (a reparse point) itself instead of its
// target; fstat then reports a link, never a regular file.
const oNoFollow = windows.FILE_FLAG_OPEN_REPARSE_POINT

// createTemp creates a new temporary file in dir with its final DACL
// (acl.go) from the first instant: CreateFile takes the security
// descriptor, so no reader can open the file under the directory's
// inherited ACL before it is protected. Access checks happen at open on
// Windows, so a handle opened in such a window would keep its access
// after a later SetSecurityInfo. It is opened with no sharing: nobody
// else can open it at all until it is closed and renamed.
func createTemp(dir, pattern string, o Options) (*os.File, error) {
	sd, err := fileSecurity(o)
	if err != nil {
		return nil, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for range 10000 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		p, err := windows.UTF16PtrFromString(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, sa,
			windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
		if errors.Is(err, windows.ERROR_FILE_EXISTS) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			continue
		}
		if err != nil {
			// ERROR_PATH_NOT_FOUND matches fs.ErrNotExist: Write then
			// creates the directories if asked to.
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(h), name), nil
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, pattern), Err: fs.ErrExist}
}

// setModeOwner does nothing on Windows: createTemp gave the file its DACL
// at creation. (os.Chmod would only toggle the read-only attribute, which
// protects nothing and makes the next replace fail.)
func setModeOwner(*os.File, string, Options) error { return nil }

// fileSecurity builds the security descriptor for o's mode and accounts.
func fileSecurity(o Options) (*windows.SECURITY_DESCRIPTOR, error) {
	p, err := principalsFor(o.Owner)
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString(sddlFor(o.Mode, p))
	if err != nil {
		return nil, fmt.Errorf("build the file's ACL: %w", err)
	}
	return sd, nil
}

// modeOwnerOK reports whether the file at path already has the protected
// DACL Write would give it.
func modeOwnerOK(path string, _ os.FileInfo, o Options) bool {
	want, err := fileSecurity(o)
	if err != nil {
		return false
	}
	wantE, err := daclEntries(want)
	if err != nil {
		return false
	}
	got, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false
	}
	if ctl, _, err := got.Control(); err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
		return false // it inherits entries from its directory
	}
	gotE, err := daclEntries(got)
	return err == nil && sameAccess(gotE, wantE)
}

// daclEntries lists sd's DACL. A missing (NULL) DACL, which grants
// everyone everything, is an error.
func daclEntries(sd *windows.SECURITY_DESCRIPTOR) ([]accessEntry, error) {
	dacl, _, err := sd.DACL()
	if err != nil {
		return nil, err
	}
	if dacl == nil {
		return nil, errors.New("no DACL")
	}
	out := make([]accessEntry, 0, dacl.AceCount)
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, err
		}
		// Denied and object entries count as "not allowed": sameAccess
		// then reports a difference and Write replaces the DACL.
		allow := ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		out = append(out, accessEntry{Allow: allow, Mask: uint32(ace.Mask), SID: sid.String()})
	}
	return out, nil
}

// replaceFile moves from over to with MoveFileEx(MOVEFILE_REPLACE_EXISTING
// | MOVEFILE_WRITE_THROUGH): atomic on NTFS and durable when it returns
// (os.Rename uses the same call without WRITE_THROUGH).
//
// Unlike rename(2), it fails while another program has the destination
// open without FILE_SHARE_DELETE (most do, Go's os.Open included): it is
// retried with backoff for about a second, then fails wrapping ErrInUse.
// A destination marked read-only (by Vault Agent's or an older writer's
// chmod 0400) is made writable once, since its DACL is what protects it.
func replaceFile(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	move := func() error {
		return windows.MoveFileEx(f, t, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
	}
	readOnlyCleared := false
	err = retryReplace(func() error {
		err := move()
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) && !readOnlyCleared {
			readOnlyCleared = true
			if attrs, aerr := windows.GetFileAttributes(t); aerr == nil && attrs&windows.FILE_ATTRIBUTE_READONLY != 0 {
				if windows.SetFileAttributes(t, attrs&^windows.FILE_ATTRIBUTE_READONLY) == nil {
					err = move()
				}
			}
		}
		return err
	}, replaceBusy, time.Sleep, replaceDelays)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// replaceBusy reports the errors MoveFileEx gives while another process
// holds the destination open. ERROR_ACCESS_DENIED is also a real lack of
// permission: that case fails after the retries, with ErrInUse's hint.
func replaceBusy(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// copyAllowed reports whether copyBackup may copy the file at path: one
// link, not a reparse point, owned by rotor's account.
func copyAllowed(path string, _ os.FileInfo, _ Options) bool {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return false
	}
	h, err := windows.CreateFile(p, windows.READ_CONTROL,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return false
	}
	if fi.NumberOfLinks != 1 || fi.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		return false
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	return err == nil && ownedBySelf(sd)
}

// leftoverOwned reports whether a leftover temporary file is owned by
// rotor's account (Windows has no numeric uid to compare with).
func leftoverOwned(path string, _ os.FileInfo, _ int) bool {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	return err == nil && ownedBySelf(sd)
}

// ownedBySelf reports whether sd's owner is rotor's account, or the
// default owner its token gives new files (Administrators, for an
// elevated administrator).
func ownedBySelf(sd *windows.SECURITY_DESCRIPTOR) bool {
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return false
	}
	self, err := processAccounts()
	if err != nil {
		return false
	}
	s := owner.String()
	return s == self.user || s == self.owner
}

// accounts are the SIDs of rotor's own token.
type accounts struct {
	user  string // the account rotor runs as
	owner string // the owner its new files get (TokenOwner)
}

// processAccounts reads rotor's token once: it cannot change.
var processAccounts = sync.OnceValues(func() (accounts, error) {
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return accounts{}, fmt.Errorf("read rotor's account: %w", err)
	}
	a := accounts{user: u.User.Sid.String(), owner: u.User.Sid.String()}
	// TOKEN_OWNER is one SID pointer followed by the SID.
	var n uint32
	windows.GetTokenInformation(tok, windows.TokenOwner, nil, 0, &n)
	if n > 0 {
		buf := make([]byte, n)
		if err := windows.GetTokenInformation(tok, windows.TokenOwner, &buf[0], n, &n); err == nil {
			a.owner = (*struct{ Owner *windows.SID })(unsafe.Pointer(&buf[0])).Owner.String()
		}
	}
	return a, nil
})

// principalsFor resolves the accounts a file's DACL names.
func principalsFor(o Owner) (principals, error) {
	self, err := processAccounts()
	if err != nil {
		return principals{}, err
	}
	p := principals{Writer: self.user}
	if p.User, err = lookupAccount("user", o.User); err != nil {
		return principals{}, err
	}
	if p.Group, err = lookupAccount("group", o.Group); err != nil {
		return principals{}, err
	}
	return p, nil
}

// lookupAccount returns the SID of a Windows account or group, named as
// "NAME", "DOMAIN\NAME", "IIS AppPool\NAME" or given as a SID string;
// "" for none. A plain number is refused: Windows has no numeric ids.
func lookupAccount(what, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	if strings.HasPrefix(strings.ToUpper(name), "S-1-") {
		sid, err := windows.StringToSid(name)
		if err != nil {
			return "", fmt.Errorf("unknown %s %q: not a valid SID", what, name)
		}
		return sid.String(), nil
	}
	if _, err := strconv.Atoi(name); err == nil {
		return "", fmt.Errorf("%s %q: Windows has no numeric ids; name the account (DOMAIN\\name) or give its SID", what, name)
	}
	sid, _, _, err := windows.LookupSID("", name)
	if err != nil {
		return "", fmt.Errorf("unknown %s %q", what, name)
	}
	return sid.String(), nil
}

// Resolve checks that the accounts exist. Windows has no numeric ids, so
// it returns -1, -1: Write takes the names from Options.Owner and grants
// them access in the file's DACL (acl.go).
func (o Owner) Resolve() (uid, gid int, err error) {
	if _, err := lookupAccount("user", o.User); err != nil {
		return 0, 0, err
	}
	if _, err := lookupAccount("group", o.Group); err != nil {
		return 0, 0, err
	}
	return -1, -1, nil
}

// fileOwner has no numeric ids to tell on Windows: KeepOwner keeps
// nothing there (the ACL comes from Owner).
func fileOwner(os.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

// keptMode: Windows modes are not permissions (the ACL is); KeepMode
// keeps nothing there.
func keptMode(os.FileInfo) (os.FileMode, bool) { return 0, false }
