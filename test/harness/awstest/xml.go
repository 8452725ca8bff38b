package awstest

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"net/http"
	"net/url"
	"time"
)

// XML namespaces of the two services' responses.
const (
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
	ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// op is one Query API action: the namespace of its answers and its handler.
// A handler runs with FakeAWS.mu held and returns the content of the
// <ActionResult> element (nil for actions that answer with metadata only)
// or an error. A signed handler (GetCallerIdentity, and the STS actions
// that issue credentials from a caller's keys) gets the request and its
// raw body instead, to check the signature.
type op struct {
	ns     string
	fn     func(f *FakeAWS, form url.Values) (any, *apiError)
	signed func(f *FakeAWS, r *http.Request, body []byte) (any, *apiError)
}

// operation returns the implementation of action. Every supported action
// is listed here.
func operation(action string) (op, bool) {
	iam := func(fn func(*FakeAWS, url.Values) (any, *apiError)) (op, bool) { return op{ns: iamNS, fn: fn}, true }
	sts := func(fn func(*FakeAWS, url.Values) (any, *apiError)) (op, bool) { return op{ns: stsNS, fn: fn}, true }
	// signedSTS: an action STS serves only to a request signed with a key
	// it knows (Vault's root keys, when Vault calls it).
	signedSTS := func(fn func(*FakeAWS, url.Values, *principal) (any, *apiError)) (op, bool) {
		return op{ns: stsNS, signed: func(f *FakeAWS, r *http.Request, body []byte) (any, *apiError) {
			var rec CallerIdentityRequest // not a GetCallerIdentity: not recorded
			p, aerr := f.verify(r, body, &rec)
			if aerr != nil {
				return nil, aerr
			}
			return fn(f, r.Form, p)
		}}, true
	}
	switch action {
	case "CreateUser":
		return iam((*FakeAWS).createUser)
	case "GetUser":
		return iam((*FakeAWS).getUser)
	case "DeleteUser":
		return iam((*FakeAWS).deleteUser)
	case "TagUser":
		return iam((*FakeAWS).tagUser)
	case "PutUserPolicy":
		return iam((*FakeAWS).putUserPolicy)
	case "DeleteUserPolicy":
		return iam((*FakeAWS).deleteUserPolicy)
	case "ListUserPolicies":
		return iam((*FakeAWS).listUserPolicies)
	case "AttachUserPolicy":
		return iam((*FakeAWS).attachUserPolicy)
	case "DetachUserPolicy":
		return iam((*FakeAWS).detachUserPolicy)
	case "ListAttachedUserPolicies":
		return iam((*FakeAWS).listAttachedUserPolicies)
	case "AddUserToGroup":
		return iam((*FakeAWS).addUserToGroup)
	case "RemoveUserFromGroup":
		return iam((*FakeAWS).removeUserFromGroup)
	case "ListGroupsForUser":
		return iam((*FakeAWS).listGroupsForUser)
	case "CreateAccessKey":
		return iam((*FakeAWS).createAccessKey)
	case "DeleteAccessKey":
		return iam((*FakeAWS).deleteAccessKey)
	case "ListAccessKeys":
		return iam((*FakeAWS).listAccessKeys)
	case "GetRole":
		return iam((*FakeAWS).getRole)
	case "GetCallerIdentity":
		return op{ns: stsNS, signed: (*FakeAWS).getCallerIdentity}, true
	case "AssumeRoleWithWebIdentity":
		return sts((*FakeAWS).assumeRoleWithWebIdentity)
	case "DescribeInstances":
		return op{ns: ec2NS, fn: (*FakeAWS).describeInstances}, true
	case "AssumeRole":
		return signedSTS((*FakeAWS).assumeRole)
	case "GetFederationToken":
		return signedSTS((*FakeAWS).getFederationToken)
	case "GetSessionToken":
		return signedSTS((*FakeAWS).getSessionToken)
	}
	return op{}, false
}

// apiError is an AWS error answer.
type apiError struct {
	status  int
	code    string
	message string
}

func noSuchEntity(msg string) *apiError {
	return &apiError{http.StatusNotFound, "NoSuchEntity", msg}
}

func validationError(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationError", msg}
}

// members is a Query API list: <Name><member>...</member>...</Name>. The
// parent element is written even when the list is empty, as AWS does.
type members[T any] struct {
	Member []T `xml:"member"`
}

// isoTime formats t as the SDK's timestamp parser expects (ISO 8601, UTC).
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// writeResult writes <ActionResponse xmlns=ns><ActionResult>result
// </ActionResult><ResponseMetadata>...</ResponseMetadata></ActionResponse>.
// aws-sdk-go v1 looks for the <ActionResult> element by name.
func writeResult(w http.ResponseWriter, ns, action string, result any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	root := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}},
	}
	err := enc.EncodeToken(root)
	if err == nil && result != nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(struct {
			RequestID string `xml:"RequestId"`
		}{requestID()}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(root.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		// A bug in a result type, not something a test can cause.
		writeError(w, ns, &apiError{http.StatusInternalServerError, "InternalFailure", "awstest: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID())
	_, _ = w.Write(b.Bytes())
}

// writeError writes an AWS error answer, which aws-sdk-go v1 turns into an
// awserr.RequestFailure with e.code as its Code().
func writeError(w http.ResponseWriter, ns string, e *apiError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}{Xmlns: ns, Type: typ, Code: e.code, Message: e.message, RequestID: requestID()})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// requestID returns a random request ID in AWS's UUID-like form.
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	const hex = "0123456789abcdef"
	var s []byte
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s = append(s, '-')
		}
		s = append(s, hex[c>>4], hex[c&15])
	}
	return string(s)
}
