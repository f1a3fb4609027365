"""flask-smorest Blueprint that also documents a view's error responses."""

from http import HTTPStatus

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    def errors(self, *statuses: int):
        """Document these error statuses (ErrorSchema bodies) on the decorated view."""

        def decorate(view):
            for status in statuses:
                view = self.alt_response(status, response=HTTPStatus(status).name)(view)
            return view

        return decorate
