from django.db import models


class Sequence(models.Model):
    """A named counter that only goes up (MRNs, claim and X12 control numbers).

    Read and advanced under a row lock, so two servers never hand out the same number.
    """

    name = models.CharField(max_length=60, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
