"""flask-smorest Blueprint that also documents a view's error responses and who may call it."""

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

    def public(self, view):
        """Document that the view needs no credentials (every other view needs a token or key)."""
        return self.doc(security=[])(view)
