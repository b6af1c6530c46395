package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

// selfFailure is a refused self-service form (the public pages' and the
// account pages'), shown again: messages next to its inputs, keyed by
// input name, and one above the form.
type selfFailure struct {
	status int
	msg    string
	fields map[string]string
}

// inputLabels name the self-service inputs in the messages next to them,
// so "must be at least 12 characters" reads "Password must be…".
var inputLabels = map[string]string{
	"email":            "Email",
	"username":         "Username",
	"password":         "Password",
	"first_name":       "First name",
	"last_name":        "Last name",
	"current_password": "Current password",
	"new_password":     "New password",
	"confirm_password": "The confirmation",
	"new_email":        "New email",
	"code":             "Code",
}

// selfRefusal turns the error of a form's use case into what the page
// shows again: each broken rule of an input the form has (inputs) next to
// that input; a conflict, a lock or a busy service above the form. Any
// other error is returned for the error page.
func selfRefusal(c echo.Context, err error, inputs ...string) (selfFailure, error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		return selfFailure{}, err
	}
	if de.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Round(time.Second).Seconds())))
	}
	switch de.Kind {
	case domain.KindInvalid:
		f := selfFailure{status: http.StatusUnprocessableEntity, fields: map[string]string{}}
		var loose []string
		for _, fe := range de.Fields {
			text := fieldText(fe)
			if !slices.Contains(inputs, fe.Field) {
				loose = append(loose, text)
				continue
			}
			if prev := f.fields[fe.Field]; prev != "" {
				text = prev + " " + text
			}
			f.fields[fe.Field] = text
		}
		switch {
		case len(loose) > 0:
			f.msg = strings.Join(loose, " ")
		case len(de.Fields) == 0:
			f.msg = sentence(de.Message)
		default:
			f.msg = "Check the fields marked below."
		}
		return f, nil
	case domain.KindConflict:
		return selfFailure{status: http.StatusConflict, msg: sentence(de.Message)}, nil
	case domain.KindRateLimited:
		return selfFailure{status: http.StatusTooManyRequests, msg: "Too many attempts. Wait a while, then try again."}, nil
	case domain.KindUnavailable:
		return selfFailure{status: http.StatusServiceUnavailable, msg: "The service is busy. Try again in a moment."}, nil
	case domain.KindUnauthorized:
		if errors.Is(err, domain.ErrInvalidMFACode) {
			msg := "That code is wrong or was already used."
			if slices.Contains(inputs, "code") {
				return selfFailure{status: http.StatusUnprocessableEntity, msg: "Check the fields marked below.",
					fields: map[string]string{"code": msg}}, nil
			}
			return selfFailure{status: http.StatusUnprocessableEntity, msg: msg}, nil
		}
	}
	return selfFailure{}, err
}

// fieldText is a broken rule as a sentence about its input.
func fieldText(fe domain.FieldError) string {
	if fe.Code == "incorrect" {
		return "That is not your current password."
	}
	label, ok := inputLabels[fe.Field]
	if ok && (strings.HasPrefix(fe.Message, "is ") || strings.HasPrefix(fe.Message, "must ") ||
		strings.HasPrefix(fe.Message, "may ")) {
		return sentence(label + " " + fe.Message)
	}
	return sentence(fe.Message)
}

// passwordsDiffer is the refusal of a form whose two copies of a new password
// differ; the use case is not called.
func passwordsDiffer() selfFailure {
	return selfFailure{status: http.StatusUnprocessableEntity, msg: "Check the fields marked below.",
		fields: map[string]string{"confirm_password": "The two passwords differ: type the same new password twice."}}
}

// seeOther ends a successful form by sending the browser to its page
// (post/redirect/get) with a confirmation code the page turns into a fixed
// text.
func seeOther(c echo.Context, to, code string) error {
	return c.Redirect(http.StatusSeeOther, to+"?ok="+url.QueryEscape(code))
}

// publicNotice is the data of the public_notice page: where to go next.
type publicNotice struct {
	Links []publicLink
}

type publicLink struct {
	Href, Text string
}
