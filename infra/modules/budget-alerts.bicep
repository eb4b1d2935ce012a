// Budget alerts: one scheduled query rule per (consumer budget, threshold) over the "Azure OpenAI Tokens"
// custom events of Application Insights, and one action group that e-mails alertEmail. main.bicep deploys
// this module only when budgets is non-empty and alertEmail is set.
//
// The query is kusto/budget-cost-per-consumer-this-month.kql with its placeholders filled. A log search
// alert sees at most the last two days, so the rule fires on this month's spending pace, not on the
// month-to-date bill; the exact figure is `chargeback statement` (see the README, "Budget alerts").

param location string
param tags object = {}

@description('The Application Insights component the usage events go to.')
param appInsightsName string

@description('Budgets: [{ consumer: APIM subscription id (the AppKey of the events), monthlyAmount: string or number, currency: e.g. USD, thresholds: [50, 80, 100] }].')
param budgets array

@description('E-mail address the action group notifies.')
param alertEmail string

param actionGroupName string
param identityName string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// The query, loaded from the kusto folder (infra-check compares it with the file).
var budgetQuery = loadTextContent('../../kusto/budget-cost-per-consumer-this-month.kql')

// One entry per (budget, threshold). A quote would end the KQL string literal: consumers and currencies
// are ids and codes, so quotes are dropped rather than escaped.
var rules = flatten(map(range(0, length(budgets)), b => map(budgets[b].thresholds, t => {
  index: b
  consumer: replace(string(budgets[b].consumer), '\'', '')
  currency: replace(string(budgets[b].currency), '\'', '')
  monthlyAmount: replace(string(budgets[b].monthlyAmount), '\'', '')
  threshold: string(t)
})))

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'chargeback'
    enabled: true
    emailReceivers: [
      {
        name: 'budget-owner'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// The identity the rules query with, instead of the rule creator's permissions.
resource alertIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

// Log Analytics Reader (read-only queries) on the component the rules query, nothing wider.
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'

// The alert rules read customEvents of this component, and nothing else.
resource alertReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, alertIdentity.id, logAnalyticsReader)
  scope: appInsights
  properties: {
    principalId: alertIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
  }
}

resource budgetRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: 'budget-${rule.index}-${rule.threshold}pct-${take(uniqueString(rule.consumer), 6)}'
    location: location
    tags: tags
    kind: 'LogAlert'
    identity: {
      type: 'UserAssigned'
      userAssignedIdentities: {
        '${alertIdentity.id}': {}
      }
    }
    properties: {
      displayName: 'Budget ${rule.threshold}% of ${rule.monthlyAmount} ${rule.currency}: ${rule.consumer}'
      description: 'Projected pay-as-you-go cost this month of consumer ${rule.consumer}, from what the alert sees (at most the last 48 hours of this month), reaches ${rule.threshold}% of its ${rule.monthlyAmount} ${rule.currency} monthly budget. The exact figure is chargeback statement.'
      severity: 3
      enabled: true
      scopes: [
        appInsights.id
      ]
      evaluationFrequency: 'PT1H'
      windowSize: 'P2D'
      criteria: {
        allOf: [
          {
            query: replace(
              replace(
                replace(replace(budgetQuery, '{{consumer}}', rule.consumer), '{{currency}}', rule.currency),
                '{{monthlyBudget}}',
                rule.monthlyAmount
              ),
              '{{thresholdPercent}}',
              rule.threshold
            )
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      // At most one mail every 12 hours per threshold while the pace stays above it (a value of the
      // documented muteActionsDuration list).
      muteActionsDuration: 'PT12H'
      autoMitigate: false
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
    dependsOn: [
      alertReader
    ]
  }
]

output actionGroupId string = actionGroup.id
output ruleCount int = length(rules)
