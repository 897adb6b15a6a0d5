/* The fake payment provider (shell/adapters/payment.h). */
#include "payment.h"

#include <string.h>

int ldr_pay_fake(const char *token, size_t len)
{
    static const struct {
        const char *token;
        int answer;
    } answers[] = {{"fake_ok", LDR_PAY_OK},
                   {"fake_decline", LDR_PAY_DECLINE},
                   {"fake_timeout", LDR_PAY_TIMEOUT}};
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
        if (strlen(answers[i].token) == len && memcmp(answers[i].token, token, len) == 0)
            return answers[i].answer;
    return LDR_PAY_UNKNOWN;
}
