package http

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
)

type accountHandlers struct {
	account   *application.Account
	mfa       *application.MFA
	bodyLimit int64
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type passwordForgotRequest struct {
	Email string `json:"email"`
}

type passwordResetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

type passwordStatusResponse struct {
	ChangedAt      time.Time  `json:"changed_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	Expired        bool       `json:"expired"`
	ChangeRequired bool       `json:"change_required"`
}

type emailChangeRequest struct {
	NewEmail string `json:"new_email"`
	Password string `json:"password"`
}

type tokenRequest struct {
	Token string `json:"token"`
}

type codeRequest struct {
	Code string `json:"code"`
}

type mfaDisableRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

type totpSetupResponse struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// accepted is the 202 of requests whose effect is a mail: it says nothing
// about whether an account exists.
type accepted struct {
	Status string `json:"status"`
}

func (h *accountHandlers) changePassword(c echo.Context) error {
	var req passwordChangeRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := h.account.ChangePassword(c.Request().Context(), principal(c), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *accountHandlers) forgotPassword(c echo.Context) error {
	var req passwordForgotRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := h.account.ForgotPassword(c.Request().Context(), req.Email); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, accepted{Status: "if the address belongs to an account, a reset link is on its way"})
}

func (h *accountHandlers) resetPassword(c echo.Context) error {
	var req passwordResetRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := h.account.ResetPassword(c.Request().Context(), req.Token, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *accountHandlers) passwordStatus(c echo.Context) error {
	st, err := h.account.PasswordStatus(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, passwordStatusResponse(st))
}

func (h *accountHandlers) changeEmail(c echo.Context) error {
	var req emailChangeRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := h.account.ChangeEmail(c.Request().Context(), principal(c), req.NewEmail, req.Password); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, accepted{Status: "a verification link was sent to the new address"})
}

func (h *accountHandlers) verifyEmail(c echo.Context) error {
	var req tokenRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if _, err := h.account.VerifyEmail(c.Request().Context(), req.Token); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *accountHandlers) resendVerification(c echo.Context) error {
	if err := h.account.ResendVerification(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, accepted{Status: "unless the address is already verified, a new link is on its way"})
}

func (h *accountHandlers) setupTOTP(c echo.Context) error {
	var req passwordRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	s, err := h.mfa.Setup(c.Request().Context(), principal(c), req.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, totpSetupResponse(s))
}

func (h *accountHandlers) activateTOTP(c echo.Context) error {
	var req codeRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	codes, err := h.mfa.Activate(c.Request().Context(), principal(c), req.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

func (h *accountHandlers) disableTOTP(c echo.Context) error {
	var req mfaDisableRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := h.mfa.Disable(c.Request().Context(), principal(c), req.Password, req.Code); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
