package awstest

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Instance is a fake EC2 instance: what DescribeInstances says about it
// and what its instance metadata (see StartIMDS) serves.
type Instance struct {
	ID      string // e.g. "i-0123456789abcdef0"
	ImageID string // e.g. "ami-0123456789abcdef0"
	Region  string // default "us-east-1"
	// Role is the instance profile's IAM role ("" for none); its
	// credentials, served by IMDS, sign as
	// arn:aws:sts::123456789012:assumed-role/<Role>/<ID>.
	Role string
	// State is the instance state name (default "running").
	State string
	// PendingTime is the launch time (default: when StartIMDS ran).
	PendingTime time.Time
}

// AddInstance registers (or replaces) an instance for DescribeInstances.
func (f *FakeAWS) AddInstance(in Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[in.ID] = in.withDefaults()
}

func (in Instance) withDefaults() Instance {
	if in.Region == "" {
		in.Region = "us-east-1"
	}
	if in.State == "" {
		in.State = "running"
	}
	if in.PendingTime.IsZero() {
		in.PendingTime = time.Now().UTC().Truncate(time.Second)
	}
	return in
}

// Result shapes of DescribeInstances, in EC2's protocol: lower-case
// element names, lists as <item>s, no <ActionResult> wrapper.
type (
	ec2State struct {
		Code int    `xml:"code"`
		Name string `xml:"name"`
	}
	ec2Instance struct {
		InstanceID     string   `xml:"instanceId"`
		ImageID        string   `xml:"imageId"`
		State          ec2State `xml:"instanceState"`
		PrivateDNSName string   `xml:"privateDnsName"`
		LaunchTime     string   `xml:"launchTime"`
		Profile        *struct {
			Arn string `xml:"arn"`
			ID  string `xml:"id"`
		} `xml:"iamInstanceProfile,omitempty"`
	}
	ec2Reservation struct {
		ReservationID string        `xml:"reservationId"`
		OwnerID       string        `xml:"ownerId"`
		Instances     []ec2Instance `xml:"instancesSet>item"`
	}
	describeInstancesResponse struct {
		XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
		Xmlns        string           `xml:"xmlns,attr"`
		RequestID    string           `xml:"requestId"`
		Reservations []ec2Reservation `xml:"reservationSet>item"`
	}
)

// stateCodes are EC2's instance state codes.
var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

// describeInstances answers for InstanceId.N; Vault's ec2 login checks the
// instance exists and is running.
func (f *FakeAWS) describeInstances(form url.Values) (any, *apiError) {
	res := describeInstancesResponse{Xmlns: ec2NS, RequestID: requestID()}
	for k, vs := range form {
		if !strings.HasPrefix(k, "InstanceId.") {
			continue
		}
		for _, id := range vs {
			in, ok := f.instances[id]
			if !ok {
				return nil, &apiError{http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist"}
			}
			x := ec2Instance{InstanceID: in.ID, ImageID: in.ImageID, State: ec2State{stateCodes[in.State], in.State},
				PrivateDNSName: "ip-10-0-0-1.ec2.internal", LaunchTime: isoTime(in.PendingTime)}
			if in.Role != "" {
				x.Profile = &struct {
					Arn string `xml:"arn"`
					ID  string `xml:"id"`
				}{"arn:aws:iam::" + AccountID + ":instance-profile/" + in.Role, "AIPA" + roleID(in.Role)[4:]}
			}
			res.Reservations = append(res.Reservations, ec2Reservation{ReservationID: "r-" + in.ID[2:], OwnerID: AccountID, Instances: []ec2Instance{x}})
		}
	}
	return res, nil
}

// writeEC2Result writes an EC2 answer, which is the whole response element.
func writeEC2Result(w http.ResponseWriter, _ string, result any) {
	b, err := xml.Marshal(result)
	if err != nil {
		writeEC2Error(w, &apiError{http.StatusInternalServerError, "InternalError", "awstest: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// writeEC2Error writes EC2's error shape: <Response><Errors><Error>.
func writeEC2Error(w http.ResponseWriter, e *apiError) {
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"Response"`
		Code      string   `xml:"Errors>Error>Code"`
		Message   string   `xml:"Errors>Error>Message"`
		RequestID string   `xml:"RequestID"`
	}{Code: e.code, Message: e.message, RequestID: requestID()})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}
