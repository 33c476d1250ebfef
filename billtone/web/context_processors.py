from billtone.accounts.selectors import membership_for_user


def panel(request):
    membership = getattr(request, "membership", None)
    if membership is None and hasattr(request, "user"):
        membership = membership_for_user(request.user)
    return {"membership": membership, "account": membership.account if membership else None}
