"""The console's forms. Every action form asks for a reason: history shows who did what and why."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from orchestrator.calendar.duration import parse_duration


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


REQUIRED = "Trường này là bắt buộc."


def error_text(form: FlaskForm) -> str:
    """Every validation message of a form, in one line for a flash message."""
    return " ".join(message for messages in form.errors.values() for message in messages)


class LoginForm(FlaskForm):
    token = PasswordField("Mã truy cập quản trị", validators=[DataRequired(REQUIRED), Length(max=200)])


class ReasonForm(FlaskForm):
    """Retry, suspend, resume, cancel: the reason is the whole form."""

    reason = TextAreaField(
        "Lý do", filters=[_strip], validators=[DataRequired("Hãy ghi lý do."), Length(max=1000)]
    )


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out is a POST so that another site cannot do it for you."""


class BulkRetryForm(ReasonForm):
    kind = HiddenField()
    agency = HiddenField()
    process_key = HiddenField()
    confirmed = HiddenField()  # "1" once the dry-run count was shown and accepted


class ExtendDeadlineForm(ReasonForm):
    by = StringField(
        "Gia hạn thêm (ví dụ 2wd = 2 ngày làm việc, 4wh = 4 giờ làm việc)",
        filters=[_strip],
        validators=[Optional(), Length(max=32)],
    )
    until = StringField(
        "Hoặc hạn mới (dd/mm/yyyy HH:MM, giờ Việt Nam)",
        filters=[_strip],
        validators=[Optional(), Regexp(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$", message="Dạng dd/mm/yyyy HH:MM.")],
    )

    def validate_by(self, field: StringField) -> None:
        if field.data:
            try:
                parse_duration(field.data)
            except ValueError:
                raise ValidationError("Ví dụ: 2wd, 0.5wd, 4wh, 3d.") from None

    def validate(self, extra_validators: Any = None) -> bool:
        # A check across two optional fields: field validators stop at an empty Optional() field.
        if not super().validate(extra_validators):
            return False
        if bool(self.until.data) == bool(self.by.data):
            self.until.errors = ["Nhập đúng một trong hai: số ngày gia hạn hoặc hạn mới."]
            return False
        return True


class ReassignForm(ReasonForm):
    agency = StringField("Cơ quan mới (mã)", filters=[_strip], validators=[Optional(), Length(max=64)])
    topic = StringField("Chủ đề (topic) mới", filters=[_strip], validators=[Optional(), Length(max=255)])

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.agency.data and not self.topic.data:
            self.topic.errors = ["Nhập cơ quan mới, chủ đề mới, hoặc cả hai."]
            return False
        return True


class MoveTokenForm(ReasonForm):
    cancel_activities = SelectMultipleField("Hủy các bước đang mở", choices=[], validate_choice=True)
    # Choices: the diagram's activities (set by the view), so no element id is typed by hand.
    start_before = SelectField(
        "Bắt đầu lại trước bước", choices=[], validate_choice=True, validators=[DataRequired(REQUIRED)]
    )
    confirmed = HiddenField()  # "1" once the preview was shown
